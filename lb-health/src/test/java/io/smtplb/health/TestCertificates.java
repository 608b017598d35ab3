package io.smtplb.health;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** A self-signed certificate made with openssl for a test relay. */
record TestCertificates(Path certificate, Path privateKey) {

    /**
     * Creates a self-signed RSA certificate for {@code relay.test} and 127.0.0.1, valid for {@code days} from
     * now, in {@code directory}.
     */
    static TestCertificates selfSigned(Path directory, int days) throws IOException, InterruptedException {
        Path openssl = ExternalTools.require("openssl", "openssl");
        Path certificate = directory.resolve("relay-cert.pem");
        Path privateKey = directory.resolve("relay-key.pem");
        ExternalTools.run(List.of(openssl.toString(), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", privateKey.toString(), "-out", certificate.toString(), "-days", String.valueOf(days),
                "-subj", "/CN=relay.test", "-addext", "subjectAltName=DNS:relay.test,IP:127.0.0.1"), 60);
        return new TestCertificates(certificate, privateKey);
    }
}
