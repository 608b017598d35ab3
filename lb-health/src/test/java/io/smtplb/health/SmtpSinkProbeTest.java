package io.smtplb.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.TlsVerify;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The probe against Postfix's smtp-sink, a server not written here, on the epoll transport. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SmtpSinkProbeTest {

    private EventLoopGroup group;
    private SmtpSink sink;

    @BeforeAll
    void startSink() throws Exception {
        group = TestTransport.EPOLL.newGroup(1);
        sink = SmtpSink.start();
    }

    @AfterAll
    void stopSink() throws Exception {
        if (sink != null) {
            sink.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void passesSmtpSink() throws Exception {
        ProbeResult result = probe(TestSettings.smtp());

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
    }

    @Test
    void deepCheckPassesSmtpSink() throws Exception {
        ProbeResult result = probe(TestSettings.smtp().deepCheck("postmaster@example.com"));

        assertThat(result.passed()).as("passed; detail: %s", result.detail()).isTrue();
    }

    @Test
    void tcpCheckPassesSmtpSink() throws Exception {
        ProbeResult result = probe(TestSettings.smtp().type(CheckType.TCP));

        assertThat(result.passed()).isTrue();
    }

    @Test
    void starttlsUnavailableOnSmtpSink() throws Exception {
        ProbeResult result = probe(TestSettings.smtp().starttls(TlsVerify.OFF));

        assertThat(result.reason()).isEqualTo(FailureReason.STARTTLS_UNAVAILABLE);
    }

    private ProbeResult probe(TestSettings settings) throws Exception {
        HealthProbe probe = HealthProbe.create(settings.build(), TestTransport.EPOLL.channelClass());
        return probe.check(group.next(), sink.address()).get(30, TimeUnit.SECONDS);
    }
}
