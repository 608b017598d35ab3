package io.smtplb.config;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The example in conf/ is what operators copy, so it must load and match what its comments state. */
class ExampleConfigTest {

    private static final Path EXAMPLE = Path.of("..", "conf", "smtplb.conf");

    @Test
    void exampleLoadsWithoutProblems() throws Exception {
        Settings settings = SettingsLoader.load(EXAMPLE, FakeResolver.standard());

        assertThat(settings.listeners()).containsOnlyKeys("smtp", "submission");
        assertThat(settings.listeners().get("smtp").binds()).containsExactly(new InetSocketAddress("0.0.0.0", 25));
        assertThat(settings.listeners().get("submission").binds())
                .containsExactly(new InetSocketAddress("0.0.0.0", 587));
        assertThat(settings.listeners().get("smtp").allow()).isNotEmpty();
        assertThat(settings.listeners().get("submission").allow()).isNotEmpty();
        assertThat(settings.pools()).containsOnlyKeys("relays");
    }

    @Test
    void examplePoolHasOneBackup() throws Exception {
        Settings settings = SettingsLoader.load(EXAMPLE, FakeResolver.standard());

        PoolSettings pool = settings.pools().get("relays");
        assertThat(pool.backends()).hasSize(3);
        assertThat(pool.backends()).filteredOn(BackendSettings::backup).hasSize(1);
        assertThat(settings.admin().bind().getAddress().isLoopbackAddress()).isTrue();
    }
}
