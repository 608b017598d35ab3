package io.smtplb.proxy;

import io.smtplb.balance.BackendPool;
import io.smtplb.config.ListenerSettings;
import io.smtplb.config.Settings.ForwardingMode;

import java.time.Duration;

/**
 * Everything a new session of one listener needs, captured at accept time. A reload replaces the context;
 * sessions keep the one they started with.
 *
 * @param listener the listener's settings
 * @param pool the pool that receives the listener's clients
 * @param hostname host name written in the balancer's own SMTP replies
 * @param forwarding forwarding mode in effect (copy when the transport cannot splice)
 * @param idleTimeout time without traffic after which a session is closed
 */
public record ListenerContext(
        ListenerSettings listener,
        BackendPool pool,
        String hostname,
        ForwardingMode forwarding,
        Duration idleTimeout) {

    public String name() {
        return listener.name();
    }
}
