package io.smtplb.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.health.HealthCheckSettings.TlsVerify;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probe against a real Postfix smtpd (and postscreen) started by the test on loopback ports, on the epoll
 * transport used in production. Assertions include what Postfix logged about each check's session.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostfixProbeTest {

    private static final Logger log = LoggerFactory.getLogger(PostfixProbeTest.class);
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int CERTIFICATE_DAYS = 30;

    private EventLoopGroup group;
    private PostfixInstance postfix;
    private Path certificateDirectory;
    private TestCertificates certificates;

    @BeforeAll
    void startPostfix() throws Exception {
        group = TestTransport.EPOLL.newGroup(1);
        PostfixInstance.Builder builder = PostfixInstance.builder()
                // Services shared by several tests, which therefore do not read their logs.
                .smtpd("plain", "smtpd_tls_security_level=none")
                .smtpd("tls", "smtpd_tls_security_level=may")
                .smtpd("proxy", "smtpd_upstream_proxy_protocol=haproxy", "smtpd_tls_security_level=none")
                .smtpd("reject-rcpt", "smtpd_recipient_restrictions=reject", "smtpd_tls_security_level=none")
                // One service per test that reads what Postfix logged about its session.
                .smtpd("quit-log", "smtpd_tls_security_level=none")
                .smtpd("deep-log", "smtpd_tls_security_level=none")
                .smtpd("tls-log", "smtpd_tls_security_level=may")
                .smtpd("proxy-v1-log", "smtpd_upstream_proxy_protocol=haproxy")
                .smtpd("proxy-v2-log", "smtpd_upstream_proxy_protocol=haproxy")
                .postscreen("postscreen")
                // postscreen sends "220-" at once, the rest of the greeting after the wait, and with
                // "enforce" rejects a client that talked in between (a pregreet).
                .mainCf("postscreen_greet_wait", "3s")
                .mainCf("postscreen_greet_action", "enforce")
                .mainCf("postscreen_access_list", "");
        certificateDirectory = Files.createTempDirectory("smtplb-cert-");
        certificates = TestCertificates.selfSigned(certificateDirectory, CERTIFICATE_DAYS);
        builder.mainCf("smtpd_tls_cert_file", certificates.certificate().toString())
                .mainCf("smtpd_tls_key_file", certificates.privateKey().toString());
        postfix = builder.start();
    }

    @AfterAll
    void stopPostfix() throws Exception {
        if (postfix != null) {
            postfix.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (certificateDirectory != null) {
            Files.deleteIfExists(certificates.certificate());
            Files.deleteIfExists(certificates.privateKey());
            Files.deleteIfExists(certificateDirectory);
        }
    }

    @Test
    void passesSmtpdAndEndsSessionWithQuit() throws Exception {
        ProbeResult result = probe("smtp", TestSettings.smtp(), postfix.address("quit-log"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(postfix.awaitLogLine("quit-log", "disconnect from"))
                .endsWith("disconnect from localhost[127.0.0.1] ehlo=1 quit=1 commands=2");
    }

    @Test
    void deepCheckPassesSmtpd() throws Exception {
        ProbeResult result = probe("smtp deep check", TestSettings.smtp().deepCheck("postmaster@example.com"),
                postfix.address("deep-log"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(postfix.awaitLogLine("deep-log", "disconnect from"))
                .endsWith("ehlo=1 mail=1 rcpt=1 rset=1 quit=1 commands=5");
    }

    @Test
    void deepCheckFailsWhenSmtpdRejectsRecipient() throws Exception {
        ProbeResult result = probe("smtp deep check, rejected", TestSettings.smtp().deepCheck("postmaster@example.com"),
                postfix.address("reject-rcpt"));

        assertThat(result.reason()).isEqualTo(FailureReason.DEEP_CHECK_REJECTED);
        assertThat(result.detail()).startsWith("RCPT TO:<postmaster@example.com> was answered \"554 5.7.1 ");
    }

    @Test
    void tcpCheckPassesSmtpd() throws Exception {
        ProbeResult result = probe("tcp", TestSettings.smtp().type(CheckType.TCP), postfix.address("plain"));

        assertThat(result.passed()).isTrue();
    }

    // ---- STARTTLS ---------------------------------------------------------------------------------------------

    @Test
    void starttlsRecordsDaysToExpiry() throws Exception {
        ProbeResult result = probe("starttls, verify off", TestSettings.smtp().starttls(TlsVerify.OFF),
                postfix.address("tls-log"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(result.detail()).isNull();
        assertThat(result.tlsDaysToExpiry()).isPresent();
        assertThat(result.tlsDaysToExpiry().getAsInt()).isBetween(CERTIFICATE_DAYS - 1, CERTIFICATE_DAYS);
        assertThat(postfix.awaitLogLine("tls-log", "disconnect from"))
                .endsWith("ehlo=2 starttls=1 quit=1 commands=4");
    }

    @Test
    void starttlsRequirePassesTrustedCertificate() throws Exception {
        TestSettings settings = TestSettings.smtp().starttls(TlsVerify.REQUIRE)
                .tlsCaFile(certificates.certificate()).tlsServerName("relay.test");
        ProbeResult result = probe("starttls, verify require", settings, postfix.address("tls"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(result.tlsDaysToExpiry()).isPresent();
    }

    @Test
    void starttlsRequireMatchesIpAddress() throws Exception {
        TestSettings settings = TestSettings.smtp().starttls(TlsVerify.REQUIRE).tlsCaFile(certificates.certificate());
        ProbeResult result = probe("starttls, verify require, by address", settings, postfix.address("tls"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
    }

    @Test
    void starttlsRequireFailsUntrustedCertificate() throws Exception {
        ProbeResult result = probe("starttls, untrusted", TestSettings.smtp().starttls(TlsVerify.REQUIRE)
                .tlsServerName("relay.test"), postfix.address("tls"));

        assertThat(result.reason()).isEqualTo(FailureReason.TLS_HANDSHAKE_FAILED);
        assertThat(result.detail()).startsWith("TLS handshake failed: ").contains("PKIX");
        assertThat(result.tlsDaysToExpiry()).isEmpty();
    }

    @Test
    void starttlsRequireFailsWrongServerName() throws Exception {
        TestSettings settings = TestSettings.smtp().starttls(TlsVerify.REQUIRE)
                .tlsCaFile(certificates.certificate()).tlsServerName("mx.other.test");
        ProbeResult result = probe("starttls, wrong name", settings, postfix.address("tls"));

        assertThat(result.reason()).isEqualTo(FailureReason.TLS_HANDSHAKE_FAILED);
        assertThat(result.detail()).contains("mx.other.test");
    }

    @Test
    void starttlsWarnPassesUntrustedCertificate() throws Exception {
        ProbeResult result = probe("starttls, verify warn", TestSettings.smtp().starttls(TlsVerify.WARN)
                .tlsServerName("relay.test"), postfix.address("tls"));

        assertThat(result.passed()).isTrue();
        assertThat(result.detail()).startsWith("certificate not verified: ").contains("PKIX");
        assertThat(result.tlsDaysToExpiry()).isPresent();
    }

    @Test
    void starttlsFailsWhenSmtpdDoesNotOfferIt() throws Exception {
        ProbeResult result = probe("starttls, not offered", TestSettings.smtp().starttls(TlsVerify.OFF),
                postfix.address("plain"));

        assertThat(result.reason()).isEqualTo(FailureReason.STARTTLS_UNAVAILABLE);
    }

    // ---- PROXY protocol ---------------------------------------------------------------------------------------

    @Test
    void proxyV1PassesSmtpdThatExpectsIt() throws Exception {
        ProbeResult result = probe("smtp, PROXY v1", TestSettings.smtp().proxyHeader(ProxyHeader.V1),
                postfix.address("proxy-v1-log"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(postfix.awaitLogLine("proxy-v1-log", "disconnect from"))
                .endsWith("disconnect from localhost[127.0.0.1] ehlo=1 quit=1 commands=2");
    }

    @Test
    void proxyV2PassesSmtpdThatExpectsIt() throws Exception {
        ProbeResult result = probe("smtp, PROXY v2", TestSettings.smtp().proxyHeader(ProxyHeader.V2),
                postfix.address("proxy-v2-log"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(postfix.awaitLogLine("proxy-v2-log", "disconnect from")).endsWith("ehlo=1 quit=1 commands=2");
    }

    @Test
    void unexpectedProxyV1FailsProxyRejected() throws Exception {
        ProbeResult result = probe("smtp, unexpected PROXY v1", TestSettings.smtp().proxyHeader(ProxyHeader.V1),
                postfix.address("plain"));

        assertThat(result.reason()).isEqualTo(FailureReason.PROXY_REJECTED);
        assertThat(result.detail()).isEqualTo(
                "EHLO was answered \"500 5.5.2 Error: command not recognized\" after a PROXY v1 header");
    }

    @Test
    void unexpectedProxyV2FailsProxyRejected() throws Exception {
        ProbeResult result = probe("smtp, unexpected PROXY v2", TestSettings.smtp().proxyHeader(ProxyHeader.V2),
                postfix.address("plain"));

        assertThat(result.reason()).isEqualTo(FailureReason.PROXY_REJECTED);
        assertThat(result.detail()).startsWith("EHLO was answered \"500 5.5.2");
    }

    @Test
    void missingProxyHeaderFailsWithGreeting4xx() throws Exception {
        // smtpd waits smtpd_upstream_proxy_timeout (2 s here) for the header, then replies 421.
        ProbeResult result = probe("smtp, PROXY header missing", TestSettings.smtp(), postfix.address("proxy"));

        assertThat(result.reason()).isEqualTo(FailureReason.GREETING_4XX);
        assertThat(result.detail()).startsWith("greeting was \"421 4.3.0 ");
    }

    // ---- postscreen -------------------------------------------------------------------------------------------

    @Test
    void passesPostscreenPregreetTest() throws Exception {
        TestSettings settings = TestSettings.smtp().greetingTimeout(Duration.ofSeconds(10))
                .timeout(Duration.ofSeconds(20));
        ProbeResult result = probe("smtp through postscreen", settings, postfix.address("postscreen"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
        assertThat(result.duration()).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        assertThat(postfix.awaitLogLine("postscreen", "PASS NEW")).contains("[127.0.0.1]");
        assertThat(postfix.awaitLogLine("postscreen", "disconnect from")).endsWith("ehlo=1 quit=1 commands=2");
        assertThat(postfix.logLines("postscreen")).noneMatch(line -> line.contains("PREGREET"));
    }

    // ---- timings ----------------------------------------------------------------------------------------------

    @Test
    void measuresProbeDurations() throws Exception {
        List<String> figures = new ArrayList<>();
        figures.add(timing("smtp", TestSettings.smtp(), postfix.address("plain")));
        figures.add(timing("smtp deep check", TestSettings.smtp().deepCheck("postmaster@example.com"),
                postfix.address("plain")));
        figures.add(timing("smtp starttls", TestSettings.smtp().starttls(TlsVerify.REQUIRE)
                .tlsCaFile(certificates.certificate()).tlsServerName("relay.test"), postfix.address("tls")));
        figures.add(timing("smtp PROXY v2", TestSettings.smtp().proxyHeader(ProxyHeader.V2),
                postfix.address("proxy")));
        figures.add(timing("tcp", TestSettings.smtp().type(CheckType.TCP), postfix.address("plain")));

        log.info("probe durations against Postfix smtpd on loopback, 10 checks each (min / median / max):\n  {}",
                String.join("\n  ", figures));
        assertThat(figures).hasSize(5);
    }

    private String timing(String label, TestSettings settings, InetSocketAddress target) throws Exception {
        List<Long> micros = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ProbeResult result = probe(null, settings, target);
            assertThat(result.passed()).as("%s passed; detail: %s", label, result.detail()).isTrue();
            micros.add(result.duration().toNanos() / 1000);
        }
        micros.sort(null);
        return String.format("%-16s %6.1f / %6.1f / %6.1f ms", label, micros.get(0) / 1000.0,
                micros.get(micros.size() / 2) / 1000.0, micros.get(micros.size() - 1) / 1000.0);
    }

    private ProbeResult probe(String label, TestSettings settings, InetSocketAddress target) throws Exception {
        HealthProbe probe = HealthProbe.create(settings.build(), TestTransport.EPOLL.channelClass());
        ProbeResult result = probe.check(group.next(), target).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (label != null) {
            log.info("{}: {} in {} ms ({})", label, result.passed() ? "passed" : result.reason(),
                    result.duration().toMillis(), result.detail());
        }
        return result;
    }
}
