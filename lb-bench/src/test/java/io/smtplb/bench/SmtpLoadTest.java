package io.smtplb.bench;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs the load tool against {@link SmtpSink} and against scripted servers, all on loopback. */
@Timeout(60)
class SmtpLoadTest {

    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private SmtpSink sink;

    @BeforeEach
    void startSink() throws InterruptedException {
        sink = SmtpSink.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
    }

    @AfterEach
    void stopSink() {
        sink.close();
    }

    @Test
    void closedLoopDeliversEverySessionToSink() throws Exception {
        List<SampleResult> results = run("--target", "sink=" + sinkAddress(), "--sessions", "300",
                "--concurrency", "10", "--message-size", "4KiB");

        SampleResult result = results.get(0);
        assertThat(result.stats().failures()).isEmpty();
        assertThat(result.stats().successes()).isEqualTo(300);
        assertThat(sink.messages()).isEqualTo(300);
        assertThat(sink.quits()).isEqualTo(300);
        assertThat(sink.rejectedCommands()).isZero();
        assertThat(printed()).contains("\"type\":\"sample\"", "\"sessions\":300", "\"failuresTotal\":0");
    }

    @Test
    void closedLoopOnNioDeliversEverySession() throws Exception {
        List<SampleResult> results = run("--target", "sink=" + sinkAddress(), "--sessions", "200", "--nio");

        assertThat(results.get(0).stats().failures()).isEmpty();
        assertThat(sink.messages()).isEqualTo(200);
        assertThat(printed()).contains("\"transport\":\"nio\"");
    }

    @Test
    void sessionsWithoutPipeliningAlsoComplete() throws Exception {
        List<SampleResult> results = run("--target", "sink=" + sinkAddress(), "--sessions", "100",
                "--concurrency", "4", "--no-pipelining");

        assertThat(results.get(0).stats().failures()).isEmpty();
        assertThat(sink.messages()).isEqualTo(100);
    }

    @Test
    void messageLargerThanSocketBuffersArrivesWhole() throws Exception {
        run("--target", "sink=" + sinkAddress(), "--sessions", "5", "--concurrency", "2", "--message-size", "3MiB");

        assertThat(sink.messages()).isEqualTo(5);
        assertThat(sink.rejectedCommands()).isZero();
    }

    @Test
    void openLoopStartsSessionsAtRate() throws Exception {
        List<SampleResult> results = run("--target", "sink=" + sinkAddress(), "--mode", "open", "--rate", "1000",
                "--sessions", "200");

        SampleResult result = results.get(0);
        assertThat(result.stats().failures()).isEmpty();
        assertThat(result.stats().successes()).isEqualTo(200);
        // 200 sessions due over 0.2 s at 1000/s cannot finish sooner.
        assertThat(result.seconds()).isGreaterThanOrEqualTo(0.199);
    }

    @Test
    void alternatesTargetsAndReportsRatioToBaseline() throws Exception {
        try (SmtpSink second = SmtpSink.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1)) {
            List<SampleResult> results = run("--target", "first=" + sinkAddress(), "--target",
                    "second=127.0.0.1:" + second.address().getPort(), "--sessions", "50", "--rounds", "2");

            assertThat(results).extracting(r -> r.target().name() + "#" + r.round())
                    .containsExactly("first#1", "second#1", "second#2", "first#2");
            assertThat(second.messages()).isEqualTo(100);
            assertThat(printed()).contains("\"type\":\"summary\",\"workload\":\"closed\",\"target\":\"second\","
                    + "\"baseline\":\"first\",\"samples\":2");
        }
    }

    @Test
    void reportsCpuTimeOfGivenProcess() throws Exception {
        long ownPid = ProcessHandle.current().pid();

        List<SampleResult> results = run("--target", "sink=" + sinkAddress() + "@" + ownPid, "--sessions", "200");

        assertThat(results.get(0).cpuSeconds()).isPositive();
    }

    @Test
    void holdKeepsConnectionsOpenUntilHoldTimeEnds(@TempDir Path directory) throws Exception {
        Path ready = directory.resolve("ready");
        SmtpLoad load = load("--target", "sink=" + sinkAddress(), "--mode", "hold", "--hold", "200",
                "--hold-time", "200ms", "--ready-file", ready.toString());

        load.hold();

        assertThat(Files.readString(ready).trim()).isEqualTo("200");
        assertThat(sink.connections()).isEqualTo(200);
        assertThat(sink.messages()).isZero();
        assertThat(printed()).contains("\"type\":\"hold\"", "\"held\":200", "\"droppedWhileHeld\":0");
    }

    @Test
    void countsRefusedConnects() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }

        List<SampleResult> results = run("--target", "none=127.0.0.1:" + closedPort, "--sessions", "20");

        assertThat(results.get(0).stats().failures()).isEqualTo(Map.of(FailureKind.CONNECT_REFUSED, 20L));
    }

    @Test
    void counts4xxGreetingWithItsText() throws Exception {
        try (ScriptedServer busy = new ScriptedServer("421 4.3.2 Service not available\r\n")) {
            List<SampleResult> results = run("--target", "busy=127.0.0.1:" + busy.port(), "--sessions", "10",
                    "--concurrency", "1");

            SampleStats stats = results.get(0).stats();
            assertThat(stats.failures()).isEqualTo(Map.of(FailureKind.REPLY_4XX, 10L));
            assertThat(stats.firstDetails().get(FailureKind.REPLY_4XX))
                    .isEqualTo("GREETING: \"421 4.3.2 Service not available\"");
        }
    }

    @Test
    void countsCloseAfterGreetingAsClosedEarly() throws Exception {
        try (ScriptedServer rude = new ScriptedServer("220 hello\r\n")) {
            List<SampleResult> results = run("--target", "rude=127.0.0.1:" + rude.port(), "--sessions", "10",
                    "--concurrency", "1");

            assertThat(results.get(0).stats().failures()).containsOnlyKeys(FailureKind.CLOSED_EARLY);
        }
    }

    @Test
    void countsMalformedReplyAsProtocolError() throws Exception {
        try (ScriptedServer garbled = new ScriptedServer("hello there\r\n")) {
            List<SampleResult> results = run("--target", "garbled=127.0.0.1:" + garbled.port(), "--sessions", "5",
                    "--concurrency", "1");

            assertThat(results.get(0).stats().failures()).isEqualTo(Map.of(FailureKind.PROTOCOL_ERROR, 5L));
        }
    }

    private List<SampleResult> run(String... args) throws InterruptedException {
        return load(args).run();
    }

    private SmtpLoad load(String... args) {
        CommandLine options = CommandLine.parse(args, LoadSettings.VALUE_OPTIONS, LoadSettings.FLAG_OPTIONS);
        return new SmtpLoad(LoadSettings.fromCommandLine(options),
                new PrintStream(output, true, StandardCharsets.UTF_8));
    }

    private String sinkAddress() {
        return "127.0.0.1:" + sink.address().getPort();
    }

    private String printed() {
        return output.toString(StandardCharsets.UTF_8);
    }

    /** Accepts connections one at a time, writes a fixed text, waits briefly for input and closes. */
    private static final class ScriptedServer implements AutoCloseable {

        private final ServerSocket socket;
        private final Thread acceptor;

        ScriptedServer(String text) throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(() -> serve(text.getBytes(StandardCharsets.US_ASCII)), "scripted-server");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        private void serve(byte[] text) {
            while (!socket.isClosed()) {
                try (Socket connection = socket.accept()) {
                    OutputStream out = connection.getOutputStream();
                    out.write(text);
                    out.flush();
                    connection.setSoTimeout(50);
                    readBriefly(connection.getInputStream());
                } catch (IOException e) {
                    // The test closed the socket, or the client left first; either ends this connection.
                }
            }
        }

        private static void readBriefly(InputStream in) {
            try {
                in.read(new byte[512]);
            } catch (IOException e) {
                // A read timeout is the expected way to stop waiting.
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
