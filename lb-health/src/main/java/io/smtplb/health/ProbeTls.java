package io.smtplb.health;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.NetUtil;
import io.smtplb.health.HealthCheckSettings.TlsVerify;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.OptionalInt;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS settings of a health check after STARTTLS: the trusted certificates, the verification mode and the
 * server name.
 *
 * <p>Every check gets a fresh {@link SslContext}, so no TLS session is resumed: each check performs a full
 * handshake, receives the certificate and verifies it. Loading the trusted certificates is the costly part and
 * happens once, in {@link #create}.
 */
final class ProbeTls {

    private static final long SECONDS_PER_DAY = 86_400;

    private final TlsVerify mode;
    private final X509ExtendedTrustManager trusted;
    private final String serverName;

    private ProbeTls(TlsVerify mode, X509ExtendedTrustManager trusted, String serverName) {
        this.mode = mode;
        this.trusted = trusted;
        this.serverName = serverName;
    }

    /**
     * Loads the trusted certificates named by the settings: {@code tls-ca-file}, or the JDK's default trust
     * store when it is {@code null}.
     *
     * @throws IllegalArgumentException if the CA file cannot be read or contains no certificate
     */
    static ProbeTls create(HealthCheckSettings settings) {
        X509ExtendedTrustManager trusted = null;
        if (settings.tlsVerify() != TlsVerify.OFF) {
            trusted = trustManager(settings.tlsCaFile());
        }
        return new ProbeTls(settings.tlsVerify(), trusted, settings.tlsServerName());
    }

    /** A started TLS layer: the handler to add to the pipeline and the trust manager that saw the certificate. */
    record Handshake(SslHandler handler, ProbeTrustManager trustManager) {
    }

    /**
     * Creates the TLS handler for one check against {@code target}, with SNI and host name verification set to
     * {@code tls-server-name}, or to the target's host when that is {@code null}.
     */
    Handshake newHandshake(ByteBufAllocator alloc, InetSocketAddress target) throws SSLException {
        ProbeTrustManager trustManager = new ProbeTrustManager(mode, trusted);
        SslContext context = SslContextBuilder.forClient().trustManager(trustManager).build();
        String host = serverName != null ? serverName : target.getHostString();
        SslHandler handler = context.newHandler(alloc, host, target.getPort());
        configureEngine(handler.engine(), host);
        return new Handshake(handler, trustManager);
    }

    private static void configureEngine(SSLEngine engine, String host) {
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        // An IP literal is not a valid SNI name (RFC 6066, section 3); the certificate is then checked
        // against the address itself.
        if (!NetUtil.isValidIpV4Address(host) && !NetUtil.isValidIpV6Address(host)) {
            parameters.setServerNames(List.of(new SNIHostName(host)));
        }
        engine.setSSLParameters(parameters);
    }

    /** Returns the whole days until the peer certificate expires, negative once it has, or empty without one. */
    static OptionalInt daysToExpiry(SSLSession session, Instant now) {
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return OptionalInt.empty();
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate)) {
            return OptionalInt.empty();
        }
        Instant notAfter = ((X509Certificate) chain[0]).getNotAfter().toInstant();
        long seconds = notAfter.getEpochSecond() - now.getEpochSecond();
        return OptionalInt.of((int) Math.floorDiv(seconds, SECONDS_PER_DAY));
    }

    private static X509ExtendedTrustManager trustManager(Path caFile) {
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(caFile == null ? null : keyStoreOf(caFile));
            for (TrustManager manager : factory.getTrustManagers()) {
                if (manager instanceof X509ExtendedTrustManager) {
                    return (X509ExtendedTrustManager) manager;
                }
            }
            throw new IllegalStateException("trust manager factory " + factory.getAlgorithm()
                    + ": no X509ExtendedTrustManager (expected: the JDK's PKIX trust manager)");
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("tls-ca-file: " + caFile + " (expected: PEM certificates; "
                    + e.getMessage() + ")", e);
        }
    }

    private static KeyStore keyStoreOf(Path caFile) throws GeneralSecurityException {
        Collection<? extends Certificate> certificates;
        try (InputStream in = Files.newInputStream(caFile)) {
            certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("tls-ca-file: " + caFile + " (expected: a readable file; "
                    + e.getMessage() + ")", e);
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("tls-ca-file: " + caFile + " (expected: at least one PEM certificate)");
        }
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new IllegalStateException("empty key store: " + e.getMessage(), e);
        }
        int index = 0;
        for (Certificate certificate : certificates) {
            store.setCertificateEntry("ca-" + index++, certificate);
        }
        return store;
    }
}
