package io.smtplb.bench;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CommandLineTest {

    private static final Set<String> VALUES = Set.of("size", "time", "count", "target");
    private static final Set<String> FLAGS = Set.of("quiet");

    @Test
    void parsesDurationsWithUnits() {
        assertThat(CommandLine.parseDuration("time", "250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(CommandLine.parseDuration("time", "1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(CommandLine.parseDuration("time", "2m")).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void parsesSizesWithBinarySuffixes() {
        assertThat(CommandLine.parseBytes("size", "512")).isEqualTo(512);
        assertThat(CommandLine.parseBytes("size", "4KiB")).isEqualTo(4096);
        assertThat(CommandLine.parseBytes("size", "4k")).isEqualTo(4096);
        assertThat(CommandLine.parseBytes("size", "1MiB")).isEqualTo(1024 * 1024);
    }

    @Test
    void keepsRepeatedOptionsInOrder() {
        CommandLine options = parse("--target", "a=127.0.0.1:1", "--quiet", "--target", "b=127.0.0.1:2");

        assertThat(options.all("target")).containsExactly("a=127.0.0.1:1", "b=127.0.0.1:2");
        assertThat(options.flag("quiet")).isTrue();
    }

    @Test
    void rejectsUnknownOptionNamingKnownOnes() {
        assertThatThrownBy(() -> parse("--concurency", "5"))
                .hasMessage("--concurency: unknown option (expected one of: --count, --quiet, --size, --target,"
                        + " --time)");
    }

    @Test
    void rejectsOptionWithoutValue() {
        assertThatThrownBy(() -> parse("--count")).hasMessage("--count: missing value");
    }

    @Test
    void rejectsOutOfRangeNumber() {
        CommandLine options = parse("--count", "0");

        assertThatThrownBy(() -> options.intValue("count", 1, 1, 10)).hasMessage("--count: 0 (expected: 1..10)");
    }

    @Test
    void rejectsDurationWithoutUnit() {
        assertThatThrownBy(() -> CommandLine.parseDuration("time", "10"))
                .hasMessage("--time: 10 (expected: a duration such as 250ms, 10s or 2m)");
    }

    @Test
    void returnsEmptyListForAbsentRepeatableOption() {
        assertThat(parse().all("target")).isEqualTo(List.of());
    }

    private static CommandLine parse(String... args) {
        return CommandLine.parse(args, VALUES, FLAGS);
    }
}
