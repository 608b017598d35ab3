package io.smtplb.health;

/** Whether a backend may receive new sessions as far as its health is concerned. */
public enum HealthState {
    UP,
    DOWN
}
