// The daily budget (TRACESINK_MAX_COMMANDS_PER_DAY), as tracesink/accounting/budget.py keeps it:
// past that many store commands in a UTC day, by every ingester on the database together, ingest
// is refused (429, limited_by "budget") until the day rolls over. The shared count lives in the
// counter hash and grows inside each admitting script call (write_batch.lua's c:{day}); between
// calls, this isolate adds what it spent since its last counted one.

export const DAY_MS = 86_400_000;

export class DailyBudget {
  constructor(limit, usage) {
    this.limit = limit;
    this.usage = usage; // {commands, commandsToday(day)}
    this.day = -1;
    this.atDayStart = 0;
  }

  usedToday(nowMs) {
    const day = Math.floor(nowMs / DAY_MS);
    if (day !== this.day) [this.day, this.atDayStart] = [day, this.usage.commands];
    const local = this.usage.commands - this.atDayStart;
    const shared = this.usage.commandsToday(day);
    return shared === null ? local : Math.max(shared, local);
  }

  // Decisions refusing every entry when the budget is spent; else null.
  refusals(count, nowMs) {
    if (!this.limit || this.usedToday(nowMs) < this.limit) return null;
    const waitMs = Math.ceil((DAY_MS - (nowMs % DAY_MS)) / 1000) * 1000;
    return Array.from({ length: count }, () => ({ limitedBy: "budget", remaining: {}, retryAfterMs: waitMs }));
  }
}
