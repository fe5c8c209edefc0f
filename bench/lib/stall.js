// Longest event-loop stall: a 10 ms timer that notes how late it fires.
"use strict";
const PERIOD_MS = 10;

// Also the stall it would have been on a core of its own: the CPU time the process spent between
// two ticks, less the tick (wall-time stalls on a shared machine include other processes' turns).
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

class StallTicker {
  constructor() {
    this.max = 0;
    this.maxCpu = 0;
    this.last = process.hrtime.bigint();
    this.lastCpu = cpuMs();
    const tick = () => {
      const t = process.hrtime.bigint(), cpu = cpuMs();
      const late = Number(t - this.last) / 1e6 - PERIOD_MS;
      if (late > this.max) this.max = late;
      if (cpu - this.lastCpu - PERIOD_MS > this.maxCpu) this.maxCpu = cpu - this.lastCpu - PERIOD_MS;
      this.last = t;
      this.lastCpu = cpu;
      this.timer = setTimeout(tick, PERIOD_MS);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, PERIOD_MS);
    this.timer.unref();
  }
  takeMax() {
    const max = this.max;
    this.max = 0;
    return Math.max(0, max);
  }
  take() {
    const taken = { max_ms: this.takeMax(), max_cpu_ms: this.maxCpu };
    this.maxCpu = 0;
    return taken;
  }
}

module.exports = { StallTicker, PERIOD_MS };
