package io.smtplb.e2e;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.smtplb.SmtpLoadBalancer;
import io.smtplb.testing.Balancers;
import io.smtplb.testing.Balancers.Mode;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real SMTP client (Angus Mail) sends through smtplb to three real SMTP servers (GreenMail): every message
 * arrives exactly once with its content intact, spread as the balancing algorithm promises.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RealMailTest {

    private static final int MESSAGES = 200;

    private final List<GreenMail> relays = new ArrayList<>();

    @BeforeEach
    void startRelays() {
        for (int i = 0; i < 3; i++) {
            GreenMail relay = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP).dynamicPort());
            relay.start();
            relays.add(relay);
        }
    }

    @AfterEach
    void stopRelays() {
        relays.forEach(GreenMail::stop);
    }

    @Test
    void weightedRoundRobinSpreadsSequentialMailExactly() throws Exception {
        String pool = "balance = weighted-round-robin, backends = [ "
                + backend("g1", relays.get(0), 2) + backend("g2", relays.get(1), 1) + backend("g3", relays.get(2), 1)
                + " ]";
        try (SmtpLoadBalancer balancer = Balancers.start(Mode.EPOLL_SPLICE, pool, "")) {
            InetSocketAddress address = Balancers.listener(balancer);
            for (int i = 0; i < MESSAGES; i++) {
                send(address, i);
            }
        }

        Map<String, MimeMessage> received = collect(MESSAGES);
        assertThat(relays.get(0).getReceivedMessages()).hasSize(100);
        assertThat(relays.get(1).getReceivedMessages()).hasSize(50);
        assertThat(relays.get(2).getReceivedMessages()).hasSize(50);
        assertIntact(received);
    }

    @Test
    void leastConnectionsSpreadsConcurrentMailEvenly() throws Exception {
        String pool = "balance = least-connections, backends = [ "
                + backend("g1", relays.get(0), 1) + backend("g2", relays.get(1), 1) + backend("g3", relays.get(2), 1)
                + " ]";
        ExecutorService senders = Executors.newFixedThreadPool(4);
        try (SmtpLoadBalancer balancer = Balancers.start(Mode.EPOLL_COPY, pool, "")) {
            InetSocketAddress address = Balancers.listener(balancer);
            List<Future<?>> results = new ArrayList<>();
            for (int i = 0; i < MESSAGES; i++) {
                int number = i;
                results.add(senders.submit(() -> {
                    send(address, number);
                    return null;
                }));
            }
            for (Future<?> result : results) {
                result.get(60, TimeUnit.SECONDS);
            }
        } finally {
            senders.shutdownNow();
        }

        Map<String, MimeMessage> received = collect(MESSAGES);
        for (GreenMail relay : relays) {
            // An even share is 66.7 messages; least connections with four concurrent senders stays close to it.
            assertThat(relay.getReceivedMessages().length).isBetween(40, 95);
        }
        assertIntact(received);
    }

    private static String backend(String name, GreenMail relay, int weight) {
        return "{ name = " + name + ", address = \"127.0.0.1:" + relay.getSmtp().getPort() + "\", weight = "
                + weight + " }, ";
    }

    private static void send(InetSocketAddress address, int number) throws Exception {
        Properties properties = new Properties();
        properties.put("mail.smtp.host", "127.0.0.1");
        properties.put("mail.smtp.port", String.valueOf(address.getPort()));
        properties.put("mail.smtp.connectiontimeout", "10000");
        properties.put("mail.smtp.timeout", "10000");
        Session session = Session.getInstance(properties);
        MimeMessage message = new MimeMessage(session);
        message.setFrom(new InternetAddress("printer" + number + "@devices.test"));
        message.setRecipient(Message.RecipientType.TO, new InternetAddress("ops@example.test"));
        message.setSubject("scan " + number);
        message.setText(body(number));
        Transport.send(message);
    }

    private static String body(int number) {
        StringBuilder text = new StringBuilder();
        for (int line = 0; line < 20; line++) {
            text.append("message ").append(number).append(" line ").append(line).append(" .dot\r\n");
        }
        // A line that is a lone dot must survive dot-stuffing in both directions.
        return text.append(".\r\nlast line of ").append(number).toString();
    }

    private Map<String, MimeMessage> collect(int expected) throws Exception {
        Map<String, MimeMessage> bySubject = new HashMap<>();
        for (GreenMail relay : relays) {
            assertThat(relay.waitForIncomingEmail(5_000, 0)).isTrue();
            for (MimeMessage message : relay.getReceivedMessages()) {
                MimeMessage previous = bySubject.put(message.getSubject(), message);
                assertThat(previous).as("duplicate of %s", message.getSubject()).isNull();
            }
        }
        assertThat(bySubject).hasSize(expected);
        return bySubject;
    }

    private static void assertIntact(Map<String, MimeMessage> received) throws Exception {
        for (int i = 0; i < MESSAGES; i++) {
            MimeMessage message = received.get("scan " + i);
            assertThat(message).as("message %d", i).isNotNull();
            assertThat(((String) message.getContent()).replace("\r\n", "\n"))
                    .isEqualTo(body(i).replace("\r\n", "\n"));
            assertThat(message.getFrom()[0].toString()).isEqualTo("printer" + i + "@devices.test");
        }
    }
}
