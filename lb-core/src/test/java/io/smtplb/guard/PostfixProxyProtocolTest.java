package io.smtplb.guard;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.proxy.SessionObserver;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Postfix's smtpd with {@code smtpd_upstream_proxy_protocol = haproxy} behind smtplb records the original client
 * address, for PROXY protocol v1 and v2, over IPv4 and IPv6: in its log and in the Received: header it adds.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostfixProxyProtocolTest {

    @ParameterizedTest(name = "{0} from {1}")
    @CsvSource({
            "v1, 127.0.0.2, 127.0.0.1",
            "v2, 127.0.0.3, 127.0.0.1",
            "v1, ::1, ::1",
            "v2, ::1, ::1"})
    void postfixSeesOriginalClient(String version, String clientHost, String serverHost) throws Exception {
        boolean ipv6 = clientHost.contains(":");
        if (ipv6) {
            Assumptions.assumeTrue(GuardTesting.hasIpv6Loopback(), "::1 is not configured on lo; IPv6 case skipped");
        }
        String bind = ipv6 ? "[::1]:0" : "127.0.0.1:0";
        try (PostfixInstance postfix = PostfixInstance.start(true, ipv6);
             SmtpLoadBalancer balancer = GuardTesting.start(Mode.EPOLL_SPLICE,
                     "bind = \"" + bind + "\", pool = relays",
                     GuardTesting.pool(postfix.address(serverHost), "send-proxy = " + version + ","), "",
                     SessionObserver.NONE)) {
            String queueId = sendMessage(GuardTesting.connectFrom(clientHost, GuardTesting.listener(balancer)));

            String logged = ipv6 ? "unknown[::1]" : "unknown[" + clientHost + "]";
            postfix.awaitLog(Pattern.compile(Pattern.quote(queueId + ": client=" + logged)), 10_000);
            String received = ipv6 ? "(unknown [IPv6:::1])" : "(unknown [" + clientHost + "])";
            assertThat(postfix.heldHeaders(queueId)).contains("Received: from client.test " + received);
        }
    }

    /** Sends one message through an open connection and returns the queue id from Postfix's 250 reply. */
    private static String sendMessage(Socket socket) throws Exception {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            assertThat(Streams.readLine(in)).startsWith("220 postfix.test");
            Streams.writeLine(out, "EHLO client.test");
            String line;
            do {
                line = Streams.readLine(in);
            } while (line != null && line.startsWith("250-"));
            assertThat(line).startsWith("250 ");
            command(in, out, "MAIL FROM:<scanner@devices.test>", "250 ");
            command(in, out, "RCPT TO:<ops@example.test>", "250 ");
            command(in, out, "DATA", "354 ");
            Streams.writeLine(out, "Subject: proxy protocol\r\n\r\nscan attached\r\n.");
            String queued = Streams.readLine(in);
            Matcher id = Pattern.compile("^250 2\\.0\\.0 Ok: queued as (\\w+)").matcher(queued);
            assertThat(id.find()).as("reply to the end of DATA: %s", queued).isTrue();
            command(in, out, "QUIT", "221 ");
            return id.group(1);
        }
    }

    private static void command(InputStream in, OutputStream out, String command, String expected) throws Exception {
        Streams.writeLine(out, command);
        assertThat(Streams.readLine(in)).as("reply to %s", command).startsWith(expected);
    }
}
