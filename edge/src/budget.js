// The daily budget (TRACESINK_MAX_COMMANDS_PER_DAY), as tracesink/accounting/budget.py keeps it:
// past 100 - TRACESINK_READ_RESERVE percent of that many store commands in a UTC day, by every
// ingester on the database together, ingest is refused (429, limited_by "budget") until the day
// rolls over; the rest is the Python service's reads' reserve. The shared count lives in the
// counter hash and grows inside each admitting script call (write_batch.lua's c:{day}); between
// calls, this isolate adds what it spent since its last counted one.

export const DAY_MS = 86_400_000;

export class DailyBudget {
  constructor(limit, usage, readReservePct = 0) {
    this.limit = limit;
    // Where ingest stops (CommandBudget.ingest_limit): the budget less the reads' reserve.
    this.ingestLimit = limit ? Math.max(1, Math.floor((limit * (100 - readReservePct)) / 100)) : 0;
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
    if (!this.limit || this.usedToday(nowMs) < this.ingestLimit) return null;
    const waitMs = Math.ceil((DAY_MS - (nowMs % DAY_MS)) / 1000) * 1000;
    return Array.from({ length: count }, () => ({ limitedBy: "budget", remaining: {}, retryAfterMs: waitMs }));
  }
}
