package io.smtplb.health;

import io.smtplb.health.HealthCheckSettings.CheckType;
import io.smtplb.health.HealthCheckSettings.ProxyHeader;
import io.smtplb.health.HealthCheckSettings.TlsVerify;

import java.nio.file.Path;
import java.time.Duration;

/** Builds {@link HealthCheckSettings} for tests: short timeouts and intervals unless a test sets its own. */
final class TestSettings {

    CheckType type = CheckType.SMTP;
    String address;
    int port;
    String heloName = "probe.test";
    Duration interval = Duration.ofMillis(100);
    Duration transitionInterval = Duration.ofMillis(50);
    Duration downInterval = Duration.ofMillis(100);
    Duration jitter = Duration.ZERO;
    int rise = 2;
    int fall = 3;
    Duration connectTimeout = Duration.ofSeconds(2);
    Duration greetingTimeout = Duration.ofSeconds(3);
    Duration stepTimeout = Duration.ofSeconds(3);
    Duration timeout = Duration.ofSeconds(10);
    boolean starttls;
    TlsVerify tlsVerify = TlsVerify.OFF;
    String tlsServerName;
    Path tlsCaFile;
    boolean deepCheck;
    String deepCheckRecipient = "postmaster";
    ProxyHeader proxyHeader = ProxyHeader.OFF;

    static TestSettings smtp() {
        return new TestSettings();
    }

    TestSettings type(CheckType value) {
        type = value;
        return this;
    }

    TestSettings intervals(Duration steady, Duration transition, Duration down) {
        interval = steady;
        transitionInterval = transition;
        downInterval = down;
        return this;
    }

    TestSettings rise(int value) {
        rise = value;
        return this;
    }

    TestSettings fall(int value) {
        fall = value;
        return this;
    }

    TestSettings greetingTimeout(Duration value) {
        greetingTimeout = value;
        return this;
    }

    TestSettings stepTimeout(Duration value) {
        stepTimeout = value;
        return this;
    }

    TestSettings timeout(Duration value) {
        timeout = value;
        return this;
    }

    TestSettings starttls(TlsVerify verify) {
        starttls = true;
        tlsVerify = verify;
        return this;
    }

    TestSettings tlsServerName(String value) {
        tlsServerName = value;
        return this;
    }

    TestSettings tlsCaFile(Path value) {
        tlsCaFile = value;
        return this;
    }

    TestSettings deepCheck(String recipient) {
        deepCheck = true;
        deepCheckRecipient = recipient;
        return this;
    }

    TestSettings proxyHeader(ProxyHeader value) {
        proxyHeader = value;
        return this;
    }

    TestSettings port(int value) {
        port = value;
        return this;
    }

    HealthCheckSettings build() {
        return new HealthCheckSettings(type, address, port, heloName, interval, transitionInterval, downInterval,
                jitter, rise, fall, connectTimeout, greetingTimeout, stepTimeout, timeout, starttls, tlsVerify,
                tlsServerName, tlsCaFile, deepCheck, deepCheckRecipient, proxyHeader);
    }
}
