// Longest event-loop stall: a 10 ms timer that notes how late it fires.
"use strict";
const PERIOD_MS = 10;

class StallTicker {
  constructor() {
    this.max = 0;
    this.last = process.hrtime.bigint();
    const tick = () => {
      const t = process.hrtime.bigint();
      const late = Number(t - this.last) / 1e6 - PERIOD_MS;
      if (late > this.max) this.max = late;
      this.last = t;
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
}

module.exports = { StallTicker, PERIOD_MS };
