package io.smtplb.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;

/**
 * One test per kind of configuration problem. Each asserts on the key path and line of the problem, and on the
 * part of the message that shows the user what to do, not on the whole text.
 */
class SettingsLoaderProblemsTest {

    private static List<ConfigProblem> problemsOf(String hocon) {
        InvalidConfigException e = catchThrowableOfType(InvalidConfigException.class,
                () -> SettingsLoader.parse(hocon, "smtplb.conf", FakeResolver.standard()));
        assertThat(e).as("problems expected in:%n%s", hocon).isNotNull();
        return e.problems();
    }

    /** Returns the only problem of a file, failing if there are others. */
    private static ConfigProblem onlyProblemOf(String hocon) {
        List<ConfigProblem> problems = problemsOf(hocon);
        assertThat(problems).as("problems").hasSize(1);
        return problems.get(0);
    }

    private static void assertLocation(ConfigProblem problem, String path, int line) {
        assertThat(problem.path()).as("path of %s", problem).isEqualTo(path);
        assertThat(problem.line()).as("line of %s", problem).isEqualTo(line);
        assertThat(problem.file()).as("file of %s", problem).isEqualTo("smtplb.conf");
    }

    /** Returns a valid listener and pool followed by {@code extra}, the one mistake of a test, on line 4. */
    private static String withPool(String extra) {
        return """
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                """ + extra + "}\n";
    }

    @Test
    void problemPrintsFileLinePathAndMessage() {
        ConfigProblem problem = new ConfigProblem("smtplb.conf", 12, "smtplb.pools.relays.backends[2].weight",
                "0 (expected: 1..256)");

        assertThat(problem).hasToString("smtplb.conf:12: smtplb.pools.relays.backends[2].weight: 0 (expected: 1..256)");
        assertThat(new ConfigProblem("smtplb.conf", 0, "", "file not found"))
                .hasToString("smtplb.conf: file not found");
    }

    @Test
    void unknownTopLevelKeySuggestsClosestKey() {
        ConfigProblem problem = onlyProblemOf(withPool("  forwardng = copy\n"));

        assertLocation(problem, "smtplb.forwardng", 4);
        assertThat(problem.message()).contains("did you mean forwarding?");
    }

    @Test
    void unknownKeyInListenerSuggestsClosestKey() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp {
                    bind = "127.0.0.1:2525", pool = relays
                    max-conections = 5
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners.smtp.max-conections", 4);
        assertThat(problem.message()).contains("did you mean max-connections?");
    }

    @Test
    void unknownKeysInNestedEntriesSuggestKeys() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays {
                    ballance = least-connections
                    health-check {
                      intervall = 5s
                    }
                    backends = [
                      { name = mx1, address = "10.0.0.11:25", wieght = 2 }
                    ]
                  }
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.pools.relays.ballance", 4),
                tuple("smtplb.pools.relays.health-check.intervall", 6),
                tuple("smtplb.pools.relays.backends[0].wieght", 9));
        assertThat(problems.get(0).message()).contains("did you mean balance?");
        assertThat(problems.get(1).message()).contains("did you mean interval?");
        assertThat(problems.get(2).message()).contains("did you mean weight?");
    }

    @Test
    void unknownKeyInDefaultsSuggestsClosestKey() {
        ConfigProblem problem = onlyProblemOf(withPool("  defaults.pool.conect-timeout = 2s\n"));

        assertLocation(problem, "smtplb.defaults.pool.conect-timeout", 4);
        assertThat(problem.message()).contains("did you mean connect-timeout?");
    }

    @Test
    void farUnknownKeyListsKnownKeys() {
        ConfigProblem problem = onlyProblemOf(withPool("  timeouts.banana = 5s\n"));

        assertLocation(problem, "smtplb.timeouts.banana", 4);
        assertThat(problem.message()).contains("expected one of: idle, shutdown-drain");
    }

    @Test
    void topLevelKeyOutsideSmtplbSuggestsSmtplbPrefix() {
        List<ConfigProblem> problems = problemsOf(withPool("") + "pools.other.backends = []\nsmtpbl { }\n");

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("pools", 5), tuple("smtpbl", 6));
        assertThat(problems.get(0).message()).contains("did you mean smtplb.pools?");
        assertThat(problems.get(1).message()).contains("did you mean smtplb?");
    }

    @Test
    void wrongTypeNamesValueAndExpectedType() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  event-loop-threads = many
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays, open-relay-ok = maybe }
                  pools.relays {
                    connect-attempts = 2.5
                    backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                  }
                  timeouts = 5s
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.event-loop-threads", 2),
                tuple("smtplb.listeners.smtp.open-relay-ok", 3),
                tuple("smtplb.pools.relays.connect-attempts", 5),
                tuple("smtplb.timeouts", 8));
        assertThat(problems.get(0).message()).isEqualTo("many (expected: an integer >= 0)");
        assertThat(problems.get(1).message()).isEqualTo("maybe (expected: on or off)");
        assertThat(problems.get(3).message()).isEqualTo("5s (expected: an object)");
    }

    @Test
    void invalidChoiceListsTheValidValues() {
        ConfigProblem problem = onlyProblemOf(withPool("  pools.relays.balance = round-robin\n"));

        assertLocation(problem, "smtplb.pools.relays.balance", 4);
        assertThat(problem.message()).isEqualTo("round-robin (expected: least-connections or weighted-round-robin)");
    }

    @Test
    void numberOutOfRangeShowsTheRange() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [
                    { name = mx1, address = "10.0.0.11:25" }
                    { name = mx2, address = "10.0.0.12:25" }
                    { name = mx3, address = "10.0.0.13:25", weight = 0 }
                  ]
                }
                """);

        assertThat(problem).hasToString("smtplb.conf:6: smtplb.pools.relays.backends[2].weight: 0 (expected: 1..256)");
    }

    @Test
    void countsBelowOneAreRejected() {
        List<ConfigProblem> problems = problemsOf(withPool("""
                  pools.relays.connect-attempts = 0
                  pools.relays.health-check { rise = 0, fall = 0 }
                  limits.source-table-size = 0
                """));

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.pools.relays.connect-attempts", 4),
                tuple("smtplb.pools.relays.health-check.rise", 5),
                tuple("smtplb.pools.relays.health-check.fall", 5),
                tuple("smtplb.limits.source-table-size", 6));
        assertThat(problems.get(0).message()).isEqualTo("0 (expected: >= 1)");
    }

    @Test
    void zeroTimeoutIsRejected() {
        List<ConfigProblem> problems = problemsOf(withPool("""
                  timeouts.idle = 0s
                  pools.relays.connect-timeout = 0ms
                  pools.relays.health-check.interval = -1s
                  timeouts.shutdown-drain = 0s
                  pools.relays.slow-start = 0s
                """));

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.timeouts.idle", 4),
                tuple("smtplb.pools.relays.connect-timeout", 5),
                tuple("smtplb.pools.relays.health-check.interval", 6));
        assertThat(problems.get(0).message()).isEqualTo("0s (expected: > 0)");
    }

    @Test
    void durationWithoutUnitIsRejected() {
        ConfigProblem problem = onlyProblemOf(withPool("  timeouts.idle = 600\n"));

        assertLocation(problem, "smtplb.timeouts.idle", 4);
        assertThat(problem.message()).isEqualTo("600 (expected: a duration > 0, like 30s)");
    }

    @Test
    void tcpKeepaliveMustBeWholeSeconds() {
        ConfigProblem problem = onlyProblemOf(withPool("  pools.relays.tcp-keepalive = 1500ms\n"));

        assertLocation(problem, "smtplb.pools.relays.tcp-keepalive", 4);
    }

    @Test
    void unknownPoolSuggestsClosestPool() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relay }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners.smtp.pool", 2);
        assertThat(problem.message()).contains("did you mean relays?");
    }

    @Test
    void missingRequiredKeysAreReportedAtTheirEntry() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  listeners.smtp {
                    allow = ["10.0.0.0/8"]
                  }
                  pools.relays.backends = [
                    { weight = 2 }
                  ]
                  pools.empty {
                  }
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.listeners.smtp.bind", 2),
                tuple("smtplb.listeners.smtp.pool", 2),
                tuple("smtplb.pools.relays.backends[0].name", 6),
                tuple("smtplb.pools.relays.backends[0].address", 6),
                tuple("smtplb.pools.empty.backends", 8));
        assertThat(problems).allSatisfy(problem -> assertThat(problem.message()).startsWith("missing (expected: "));
    }

    @Test
    void fileWithoutListenersIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners", 1);
        assertThat(problem.message()).startsWith("empty (expected: ");
    }

    @Test
    void fileWithoutSmtplbObjectIsRejected() {
        List<ConfigProblem> problems = problemsOf("""
                # The file is only a comment.
                """);

        assertThat(problems).singleElement().satisfies(problem -> {
            assertThat(problem.file()).isEqualTo("smtplb.conf");
            assertThat(problem.path()).isEqualTo("smtplb.listeners");
        });
    }

    @Test
    void emptyBackendListIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = []
                }
                """);

        assertLocation(problem, "smtplb.pools.relays.backends", 3);
        assertThat(problem.message()).startsWith("empty (expected: ");
    }

    @Test
    void backendWrittenAsStringIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [
                    { name = mx1, address = "10.0.0.11:25" }
                    "10.0.0.12:25"
                  ]
                }
                """);

        assertLocation(problem, "smtplb.pools.relays.backends[1]", 5);
        assertThat(problem.message()).isEqualTo("10.0.0.12:25 (expected: an object with name and address)");
    }

    @Test
    void duplicateBackendNameIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [
                    { name = mx1, address = "10.0.0.11:25" }
                    { name = mx1, address = "10.0.0.12:25" }
                  ]
                }
                """);

        assertLocation(problem, "smtplb.pools.relays.backends[1].name", 5);
        assertThat(problem.message()).contains("smtplb.pools.relays.backends[0] has it too");
    }

    @Test
    void unparsableAddressesAreRejected() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  listeners.smtp { bind = ["127.0.0.1", "::1:25", "127.0.0.1:http"], pool = relays }
                  pools.relays.backends = [
                    { name = mx1, address = "10.0.0.11:99999" }
                    { name = mx2, address = "10.0.0.256:25" }
                    { name = mx3, address = "10.0.0.13:0" }
                    { name = mx4, address = "[2001:db8::zz]:25" }
                    { name = mx5, address = "mx 5:25" }
                  ]
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.listeners.smtp.bind[0]", 2),
                tuple("smtplb.listeners.smtp.bind[1]", 2),
                tuple("smtplb.listeners.smtp.bind[2]", 2),
                tuple("smtplb.pools.relays.backends[0].address", 4),
                tuple("smtplb.pools.relays.backends[1].address", 5),
                tuple("smtplb.pools.relays.backends[2].address", 6),
                tuple("smtplb.pools.relays.backends[3].address", 7),
                tuple("smtplb.pools.relays.backends[4].address", 8));
        assertThat(problems.get(1).message()).contains("IPv6 addresses in brackets like [::1]:25");
        assertThat(problems.get(3).message()).isEqualTo("10.0.0.11:99999 (expected: a port 1..65535)");
    }

    @Test
    void unresolvableHostNameIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [ { name = mx9, address = "mx9.example.test:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.pools.relays.backends[0].address", 3);
        assertThat(problem.message()).contains("looking up mx9.example.test failed");
    }

    @Test
    void unparsableNetworksAreRejected() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  listeners.smtp {
                    bind = "127.0.0.1:2525", pool = relays
                    allow = ["10.0.0.0/8", "10.0.0.0/33", "banana"]
                    deny = "10.1/16"
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.listeners.smtp.allow[1]", 4),
                tuple("smtplb.listeners.smtp.allow[2]", 4),
                tuple("smtplb.listeners.smtp.deny", 5));
        assertThat(problems.get(0).message()).contains("prefix length 33 (expected: 0..32)");
    }

    @Test
    void sameAddressBoundTwiceIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners {
                    a { bind = "127.0.0.1:2525", pool = relays }
                    b { bind = ["127.0.0.1:2526", "127.0.0.1:2525"], pool = relays }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners.b.bind[1]", 4);
        assertThat(problem.message()).contains("smtplb.listeners.a.bind binds it too, at line 3");
    }

    @Test
    void ipv4WildcardOverlapsSpecificAddressOnSamePort() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners {
                    inside { bind = "10.0.0.1:25", pool = relays }
                    all { bind = "0.0.0.0:25", pool = relays, allow = ["10.0.0.0/8"] }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners.all.bind", 4);
        assertThat(problem.message()).contains("smtplb.listeners.inside.bind binds 10.0.0.1:25");
    }

    @Test
    void ipv6WildcardOverlapsIpv4OnSamePort() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners {
                    v4 { bind = "0.0.0.0:25", pool = relays, allow = ["10.0.0.0/8"] }
                    v6 { bind = "[::]:25", pool = relays, allow = ["fd00::/8"] }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners.v6.bind", 4);
    }

    @Test
    void adminBindOverlappingListenerIsRejected() {
        ConfigProblem problem = onlyProblemOf(withPool("  admin.bind = \"127.0.0.1:2525\"\n"));

        assertLocation(problem, "smtplb.admin.bind", 4);
    }

    @Test
    void differentPortsAndFamiliesDoNotOverlap() throws Exception {
        SettingsLoader.parse("""
                smtplb {
                  listeners {
                    a { bind = ["0.0.0.0:25", "0.0.0.0:587"], pool = relays, allow = ["10.0.0.0/8"] }
                    b { bind = ["[::1]:25", "[fd00::1]:25"], pool = relays }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """, "smtplb.conf", FakeResolver.standard());
    }

    @Test
    void publicBindWithoutAllowListIsRejected() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  listeners {
                    wildcard { bind = "0.0.0.0:25", pool = relays }
                    public { bind = "192.0.2.10:26", pool = relays }
                    v6 { bind = "[::]:587", pool = relays, allow = ["0.0.0.0/0"] }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.listeners.wildcard.bind", 3),
                tuple("smtplb.listeners.public.bind", 4),
                tuple("smtplb.listeners.v6.bind", 5));
        assertThat(problems.get(0).message()).contains("open-relay-ok = true").contains("relay mail for anyone");
        assertThat(problems.get(2).message()).contains("allow admits every address");
    }

    @Test
    void restrictedPublicBindIsAccepted() throws Exception {
        Settings settings = SettingsLoader.parse("""
                smtplb {
                  listeners {
                    allowed { bind = "0.0.0.0:25", pool = relays, allow = ["10.0.0.0/8"] }
                    open { bind = "192.0.2.10:587", pool = relays, open-relay-ok = true }
                    private { bind = ["10.0.0.1:2525", "[fd00::1]:2525", "127.0.0.1:2525"], pool = relays }
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """, "smtplb.conf", FakeResolver.standard());

        assertThat(settings.listeners()).containsOnlyKeys("allowed", "open", "private");
    }

    @Test
    void publicAdminBindWithoutTokenIsRejected() {
        ConfigProblem problem = onlyProblemOf(withPool("  admin.bind = \"0.0.0.0:9525\"\n"));

        assertLocation(problem, "smtplb.admin.bind", 4);
        assertThat(problem.message()).contains("admin API");
    }

    @Test
    void publicAdminBindWithTokenIsAccepted() throws Exception {
        Settings settings = SettingsLoader.parse(withPool("  admin { bind = \"0.0.0.0:9525\", token = abc123 }\n"),
                "smtplb.conf", FakeResolver.standard());

        assertThat(settings.admin().token()).isEqualTo("abc123");
    }

    @Test
    void adminTokenProblemDoesNotShowTheToken() {
        ConfigProblem problem = onlyProblemOf(withPool("  admin.token = \"open sesame\"\n"));

        assertLocation(problem, "smtplb.admin.token", 4);
        assertThat(problem.toString()).doesNotContain("sesame");
    }

    @Test
    void acceptProxyWithoutTrustedProxiesIsRejected() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp {
                    bind = "127.0.0.1:2525", pool = relays
                    accept-proxy = on
                  }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                }
                """);

        assertLocation(problem, "smtplb.listeners.smtp.accept-proxy", 4);
        assertThat(problem.message()).contains("trusted-proxies").contains("forged source address");
    }

    @Test
    void syntaxErrorReportsItsLine() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  listeners.smtp { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [ { name = mx1, address = "10.0.0.11:25" }
                }
                """);

        assertThat(problem.file()).isEqualTo("smtplb.conf");
        assertThat(problem.line()).isEqualTo(4);
        assertThat(problem.path()).isEmpty();
        assertThat(problem.message()).startsWith("syntax error: ");
    }

    @Test
    void unresolvedSubstitutionReportsItsLine() {
        ConfigProblem problem = onlyProblemOf(withPool("  admin.token = ${SMTPLB_TEST_VARIABLE_THAT_IS_NOT_SET}\n"));

        assertThat(problem.line()).isEqualTo(4);
        assertThat(problem.message()).contains("SMTPLB_TEST_VARIABLE_THAT_IS_NOT_SET");
    }

    @Test
    void missingFileIsReported(@TempDir Path directory) {
        Path file = directory.resolve("absent.conf");

        InvalidConfigException e = catchThrowableOfType(InvalidConfigException.class,
                () -> SettingsLoader.load(file, FakeResolver.standard()));

        assertThat(e.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.file()).isEqualTo(file.toString());
            assertThat(problem.line()).isZero();
            assertThat(problem.message()).startsWith("file not found");
        });
    }

    @Test
    void invalidNamesAreRejected() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  listeners."my listener" { bind = "127.0.0.1:2525", pool = relays }
                  pools.relays.backends = [ { name = "mx/1", address = "10.0.0.11:25" } ]
                }
                """);

        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactly(
                tuple("smtplb.listeners.\"my listener\"", 2),
                tuple("smtplb.pools.relays.backends[0].name", 3));
    }

    @Test
    void invalidDefaultIsReportedOnce() {
        ConfigProblem problem = onlyProblemOf("""
                smtplb {
                  defaults.pool.connect-timeout = 0s
                  listeners.smtp { bind = "127.0.0.1:2525", pool = one }
                  pools {
                    one.backends = [ { name = mx1, address = "10.0.0.11:25" } ]
                    two.backends = [ { name = mx1, address = "10.0.0.12:25" } ]
                  }
                }
                """);

        assertLocation(problem, "smtplb.defaults.pool.connect-timeout", 2);
    }

    @Test
    void brokenDefaultsSectionIsReportedOnce() {
        ConfigProblem problem = onlyProblemOf(withPool("  defaults.pool.health-check = off\n"));

        assertLocation(problem, "smtplb.defaults.pool.health-check", 4);
    }

    @Test
    void allProblemsAreReportedTogether() {
        List<ConfigProblem> problems = problemsOf("""
                smtplb {
                  hostname = "bad host"
                  listeners {
                    smtp { bind = "0.0.0.0:25", pool = relay }
                    submission { bind = "127.0.0.1:587", pool = relays, max-conections = 10 }
                  }
                  pools.relays {
                    connect-attempts = 0
                    health-check.fall = 0
                    backends = [
                      { name = mx1, address = "10.0.0.11:25", weight = 300 }
                      { name = mx1, address = "mx9.example.test:25" }
                    ]
                  }
                  admin.bind = "0.0.0.0:9525"
                  timeouts.idle = 0s
                }
                """);

        assertThat(problems).isSortedAccordingTo(Comparator.comparingInt(ConfigProblem::line));
        assertThat(problems).extracting(ConfigProblem::path, ConfigProblem::line).containsExactlyInAnyOrder(
                tuple("smtplb.hostname", 2),
                tuple("smtplb.listeners.smtp.bind", 4),
                tuple("smtplb.listeners.smtp.pool", 4),
                tuple("smtplb.listeners.submission.max-conections", 5),
                tuple("smtplb.pools.relays.connect-attempts", 8),
                tuple("smtplb.pools.relays.health-check.fall", 9),
                tuple("smtplb.pools.relays.backends[0].weight", 11),
                tuple("smtplb.pools.relays.backends[1].name", 12),
                tuple("smtplb.pools.relays.backends[1].address", 12),
                tuple("smtplb.admin.bind", 15),
                tuple("smtplb.timeouts.idle", 16));
    }

    @Test
    void exceptionMessageListsEveryProblem() {
        InvalidConfigException e = catchThrowableOfType(InvalidConfigException.class,
                () -> SettingsLoader.parse(withPool("  timeouts.idle = 0s\n  forwarding = fast\n"), "smtplb.conf",
                        FakeResolver.standard()));

        assertThat(e.getMessage()).isEqualTo(String.join(System.lineSeparator(),
                "invalid configuration: 2 problems",
                "smtplb.conf:4: smtplb.timeouts.idle: 0s (expected: > 0)",
                "smtplb.conf:5: smtplb.forwarding: fast (expected: splice or copy)"));
    }
}
