package io.smtplb.proxy;

import io.smtplb.balance.Backend;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The open client sessions, for shutdown, drain deadlines and gauges. Thread-safe. */
public final class SessionRegistry {

    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();

    void add(ClientSession session) {
        sessions.add(session);
    }

    void remove(ClientSession session) {
        sessions.remove(session);
    }

    /** Returns the number of open client sessions. */
    public int size() {
        return sessions.size();
    }

    /** Closes every open session now. */
    public void closeAll(CloseReason reason) {
        for (ClientSession session : sessions) {
            session.closeNow(reason);
        }
    }

    /** Closes the open sessions carried by {@code backend}; returns how many were closed. */
    public int closeSessionsOf(Backend backend, CloseReason reason) {
        int closed = 0;
        for (ClientSession session : sessions) {
            if (session.backend() == backend) {
                session.closeNow(reason);
                closed++;
            }
        }
        return closed;
    }
}
