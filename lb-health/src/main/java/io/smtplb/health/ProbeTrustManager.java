package io.smtplb.health;

import io.smtplb.health.HealthCheckSettings.TlsVerify;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies a relay's certificate according to {@code tls-verify}, for one check.
 *
 * <p>Under {@code require} a verification failure fails the handshake. Under {@code warn} it is stored in
 * {@link #warning()} and the handshake goes on. Under {@code off} nothing is verified. Host name
 * verification happens inside the delegate because the engine asks for the {@code HTTPS} endpoint
 * identification algorithm.
 */
final class ProbeTrustManager extends X509ExtendedTrustManager {

    private final TlsVerify mode;
    private final X509ExtendedTrustManager delegate;
    private volatile String warning;

    /** Creates a trust manager; {@code delegate} may be {@code null} only when {@code mode} is {@code OFF}. */
    ProbeTrustManager(TlsVerify mode, X509ExtendedTrustManager delegate) {
        if (mode != TlsVerify.OFF && delegate == null) {
            throw new IllegalArgumentException("delegate: null (expected: a trust manager for tls-verify " + mode + ")");
        }
        this.mode = mode;
        this.delegate = delegate;
    }

    /** Returns the verification failure that {@code warn} let through, or {@code null}. */
    String warning() {
        return warning;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        if (mode == TlsVerify.OFF) {
            return;
        }
        try {
            delegate.checkServerTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            onVerificationFailure(e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        if (mode == TlsVerify.OFF) {
            return;
        }
        try {
            delegate.checkServerTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            onVerificationFailure(e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (mode == TlsVerify.OFF) {
            return;
        }
        try {
            delegate.checkServerTrusted(chain, authType);
        } catch (CertificateException e) {
            onVerificationFailure(e);
        }
    }

    private void onVerificationFailure(CertificateException e) throws CertificateException {
        if (mode == TlsVerify.REQUIRE) {
            throw e;
        }
        warning = "certificate not verified: " + SmtpReplies.sanitize(String.valueOf(e.getMessage()));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("client certificates: not checked (expected: client-side use only)");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("client certificates: not checked (expected: client-side use only)");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("client certificates: not checked (expected: client-side use only)");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate == null ? new X509Certificate[0] : delegate.getAcceptedIssuers();
    }
}
