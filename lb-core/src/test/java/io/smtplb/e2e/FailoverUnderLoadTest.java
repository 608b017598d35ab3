package io.smtplb.e2e;

import io.smtplb.SmtpLoadBalancer;
import io.smtplb.health.HealthChange;
import io.smtplb.health.HealthListener;
import io.smtplb.health.HealthState;
import io.smtplb.testing.Balancers;
import io.smtplb.testing.Balancers.Mode;
import io.smtplb.testing.ScriptedRelay;
import io.smtplb.testing.SmtpSinkProcess;
import io.smtplb.testing.SmtpTestClient;
import io.smtplb.testing.SmtpTestClient.Outcome;
import io.smtplb.testing.Streams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Relays fail under load: three real relays (Postfix smtp-sink), one killed with SIGKILL mid-run and started
 * again. Connect retry and greeting failover must hide the failure from every new session until the health
 * check notices. Only sessions in flight on the killed relay may break.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FailoverUnderLoadTest {

    private static final String HEALTH = "health-check { interval = 1s, transition-interval = 500ms, "
            + "down-interval = 1s, jitter = 100ms, rise = 2, fall = 3, timeout = 5s }";

    /** Health transitions with the time they were seen. */
    private static final class Transitions implements HealthListener {
        final ConcurrentLinkedQueue<HealthChange> changes = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> times = new ConcurrentLinkedQueue<>();

        @Override
        public void onHealthChange(HealthChange change) {
            times.add(System.nanoTime());
            changes.add(change);
        }

        long firstTime(String backend, HealthState state, long after) {
            List<HealthChange> all = new ArrayList<>(changes);
            List<Long> at = new ArrayList<>(times);
            for (int i = 0; i < all.size(); i++) {
                HealthChange change = all.get(i);
                if (change.ref().backend().equals(backend) && change.newState() == state && at.get(i) >= after) {
                    return at.get(i);
                }
            }
            return -1;
        }
    }

    @Test
    void killedRelayCostsNoNewSession(@TempDir Path dumps) throws Exception {
        List<SmtpSinkProcess> sinks = new ArrayList<>();
        Transitions transitions = new Transitions();
        try {
            for (int i = 1; i <= 3; i++) {
                sinks.add(SmtpSinkProcess.start(freePort(), dumps.resolve("sink" + i)));
            }
            String pool = Balancers.backends(sinks.stream().map(SmtpSinkProcess::port).toList()) + ", " + HEALTH;
            try (SmtpLoadBalancer balancer = Balancers.start(Mode.EPOLL_SPLICE, pool, "")) {
                balancer.setHealthObserver(transitions);
                Map<Outcome, AtomicInteger> outcomes = runLoad(Balancers.listener(balancer), sinks.get(1), transitions);

                int failed = outcomes.get(Outcome.FAILED_BEFORE_GREETING).get();
                int broken = outcomes.get(Outcome.BROKEN_IN_FLIGHT).get();
                int delivered = outcomes.get(Outcome.DELIVERED).get();
                System.out.printf("failover under load: %d delivered, %d failed before greeting, %d broken in flight%n",
                        delivered, failed, broken);
                assertThat(failed).as("new sessions that failed").isZero();
                assertThat(broken).as("sessions broken in flight").isLessThanOrEqualTo(4);
                assertThat(delivered).isGreaterThan(200);
                assertThat(sinks.get(1).messages()).as("messages on the restarted relay").isPositive();
            }
        } finally {
            for (SmtpSinkProcess sink : sinks) {
                sink.close();
            }
        }
    }

    /**
     * Four senders for 12 s (at most 20,000 sessions); at 3 s the middle relay is killed, at 7 s started
     * again. Returns the outcome counts and prints detection and recovery times.
     */
    private static Map<Outcome, AtomicInteger> runLoad(InetSocketAddress server, SmtpSinkProcess victim,
                                                       Transitions transitions) throws Exception {
        Map<Outcome, AtomicInteger> outcomes = new EnumMap<>(Outcome.class);
        for (Outcome outcome : Outcome.values()) {
            outcomes.put(outcome, new AtomicInteger());
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger started = new AtomicInteger();
        ExecutorService senders = Executors.newFixedThreadPool(4);
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(senders.submit(() -> {
                while (running.get() && started.incrementAndGet() <= 20_000) {
                    outcomes.get(SmtpTestClient.send(server, "load " + started.get())).incrementAndGet();
                }
            }));
        }
        try {
            Thread.sleep(3_000);
            long killedAt = System.nanoTime();
            victim.kill();
            Thread.sleep(4_000);
            long restartedAt = System.nanoTime();
            victim.restart();
            Thread.sleep(5_000);
            running.set(false);
            for (Future<?> worker : workers) {
                worker.get(30, TimeUnit.SECONDS);
            }
            report("down", killedAt, transitions.firstTime("r2", HealthState.DOWN, killedAt));
            report("up again", restartedAt, transitions.firstTime("r2", HealthState.UP, restartedAt));
            assertThat(transitions.firstTime("r2", HealthState.DOWN, killedAt)).as("r2 marked down").isPositive();
            assertThat(transitions.firstTime("r2", HealthState.UP, restartedAt)).as("r2 marked up").isPositive();
        } finally {
            running.set(false);
            senders.shutdownNow();
        }
        return outcomes;
    }

    private static void report(String what, long since, long at) {
        System.out.printf("relay r2 marked %s %d ms after the event%n", what,
                at < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(at - since));
    }

    @Test
    void relayGreetingWith421ServesNoClientAndIsMarkedDown(@TempDir Path dumps) throws Exception {
        Transitions transitions = new Transitions();
        try (ScriptedRelay busy = new ScriptedRelay(socket -> {
                Streams.writeLine(socket.getOutputStream(), "421 4.3.2 busy.test Service temporarily unavailable");
                Streams.readLine(socket.getInputStream());
                socket.close();
            });
             SmtpSinkProcess sink = SmtpSinkProcess.start(freePort(), dumps.resolve("sink"))) {
            String pool = "backends = [ { name = busy, address = \"127.0.0.1:" + busy.port() + "\" }, "
                    + "{ name = sink, address = \"127.0.0.1:" + sink.port() + "\" } ], "
                    + "health-check { interval = 500ms, transition-interval = 500ms, down-interval = 1s, "
                    + "jitter = 50ms, rise = 2, fall = 2, greeting-timeout = 2s, timeout = 3s }";
            long startedAt = System.nanoTime();
            try (SmtpLoadBalancer balancer = Balancers.start(Mode.EPOLL_SPLICE, pool, "")) {
                balancer.setHealthObserver(transitions);
                long downAt = awaitTransition(transitions, "busy", HealthState.DOWN, 10_000);
                long detectionMillis = TimeUnit.NANOSECONDS.toMillis(downAt - startedAt);
                System.out.printf("relay greeting 421 marked down %d ms after start%n", detectionMillis);
                // fall x interval, plus one check's timeout, plus the first check's random offset and jitter.
                assertThat(detectionMillis).isLessThanOrEqualTo(2 * 500 + 3_000 + 500 + 2 * 50);
                assertThat(transitions.changes.peek().detail()).contains("421 4.3.2 busy.test");

                InetSocketAddress server = Balancers.listener(balancer);
                for (int i = 0; i < 50; i++) {
                    assertThat(SmtpTestClient.send(server, "m" + i)).isEqualTo(Outcome.DELIVERED);
                }
                assertThat(sink.messages()).isEqualTo(50);
            }
        }
    }

    private static long awaitTransition(Transitions transitions, String backend, HealthState state, long millis)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            long at = transitions.firstTime(backend, state, 0);
            if (at > 0) {
                return at;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("backend " + backend + " not " + state + " within " + millis + " ms");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

}
