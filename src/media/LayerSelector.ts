/**
 * Picks the spatial layer one subscriber receives of one simulcast track, from the layers'
 * measured bitrates, the subscriber's manual ceiling, its share of the bandwidth estimate (REMB)
 * and its loss (receiver reports). Pure and clock-injected, so the hysteresis is unit-tested.
 *
 * A receive-side estimate (REMB) is a weak signal of spare capacity: Chrome grows it by ~8 %/s and
 * caps it at 1.5x what it actually receives, so after any upgrade it trails the new bitrate for
 * seconds. It is therefore only trusted as a congestion signal when it is falling (Chrome's
 * over-use detector cut it) and far below what we send; loss is the other signal, but only loss
 * that rises with the rate we send (GCC's view: a policer or a full queue), not the random loss of a
 * radio link, which a lower layer would suffer just the same. So a step down for loss is checked: if
 * the loss on the lower layer, LOSS_VERIFY_MS later, is still most of what it was, the link loses
 * that much at any rate; it becomes the link's inherent loss, the step is undone at the next probe,
 * and only loss well above it counts as congestion from then on. If the loss fell, it was
 * congestion, and the next probe up waits twice as long. Upgrades are probes: after the
 * link carried the current layer cleanly for a hold time, go one layer up; if that fails soon
 * after, fall back and double the hold (up to MAX_HOLD_MS), so a link that cannot carry the next
 * layer does not oscillate; a probe that holds resets the hold.
 */
export const UP_HOLD_MS = 3000;
/**
 * The longest wait between probes up: a link that recovers (a policer lifted, a download over) is
 * back on the top layer within about 10 s; a link that stays short pays a probe every 8 s.
 */
export const MAX_HOLD_MS = 8000;
/** A downgrade this soon after an upgrade counts as a failed probe. */
export const PROBE_FAIL_WINDOW_MS = 6000;
/**
 * Loss above the link's inherent loss by this much is congestion: step down. The loss is what the
 * subscriber NACKs before repair (DownTrack), so it is higher than GCC's 10 % of unrepaired loss.
 */
export const LOSS_DOWN = 0.15;
/** Upgrades only while the loss is at most this much above the inherent loss. */
export const LOSS_UP = 0.075;
/** After a step down for loss, when the lower layer's loss tells whether it was congestion. */
export const LOSS_VERIFY_MS = 2500;
/** The lower layer still losing this share of what the upper one lost: loss independent of rate. */
const LOSS_KEPT_RATIO = 0.7;
/** A falling estimate below this share of the forwarded bitrate means congestion. */
const CONGESTED_RATIO = 0.6;

export interface LayerInput {
  /** Bitrate of each layer, lowest first, in bps; 0 = not being received (paused or not started). */
  bitrates: readonly number[];
  /** Highest layer index allowed (manual choice); -1 = none. */
  ceiling: number;
  /** This track's share of the subscriber's estimate, bps; Infinity when unknown. */
  budget: number;
  /** The estimate went down at its last update (over-use detected by the subscriber). */
  budgetFalling: boolean;
  /** Fraction lost from the latest receiver report, 0..1. */
  loss: number;
  now: number;
  /** The very first choice: the best allowed layer (ION's bestqualityfirst) or the lowest. */
  bestQualityFirst: boolean;
}

export class LayerSelector {
  /** The chosen layer index, -1 = nothing. */
  current = -1;
  #fresh = true;
  #okSince = 0;
  #hold = UP_HOLD_MS;
  #upgradedAt = -Infinity;
  /** An upgrade not yet proven (within PROBE_FAIL_WINDOW_MS of it). */
  #probing = false;
  /** Loss the link shows whatever we send (see the class comment), 0..1. */
  #inherentLoss = 0;
  /** The loss that made the last step down, and when; 0 once checked. */
  #lossDownFrom = 0;
  #lossDownAt = 0;

  /** The loss this subscriber's link shows at any rate, as learnt so far. */
  get inherentLoss(): number {
    return this.#inherentLoss;
  }

  select(i: LayerInput): number {
    const flowing = usableLayers(i.bitrates);
    const available = flowing.filter((l) => l <= i.ceiling);
    if (available.length === 0) {
      // Nothing allowed is flowing (the publisher is still starting or resuming it): rather than a
      // frozen picture, keep what we forward, or take the lowest layer there is, until it arrives.
      if (!flowing.includes(this.current)) {
        this.current = flowing[0] ?? -1;
      }
      this.#okSince = 0;
      return this.current;
    }
    const lowest = available[0]!;
    const highest = available.at(-1)!;
    this.#learnLoss(i.loss, i.now, this.current === lowest);
    // One step down for loss at a time: the next waits until the last one is checked.
    const lossy = this.#lossDownFrom === 0 && i.loss >= this.#inherentLoss + LOSS_DOWN;
    const congested = (rate: number) =>
      lossy || (i.budgetFalling && Number.isFinite(i.budget) && i.budget < rate * CONGESTED_RATIO);
    if (this.current < 0 || !available.includes(this.current)) {
      // First choice, a manual change, or our layer stopped: the best allowed unless the link is congested.
      const fitting = available.filter((l) => !congested(i.bitrates[l]!)).at(-1) ?? lowest;
      this.current = this.#fresh && !i.bestQualityFirst ? lowest : fitting;
      this.#fresh = false;
      this.#okSince = 0;
      return this.current;
    }
    if (this.#probing && i.now - this.#upgradedAt >= PROBE_FAIL_WINDOW_MS) {
      this.#probing = false; // the probe held: the link carries it, back to quick probing
      this.#hold = UP_HOLD_MS;
    }
    if (congested(i.bitrates[this.current]!) && this.current > lowest) {
      if (this.#probing) {
        this.#hold = Math.min(this.#hold * 2, MAX_HOLD_MS);
        this.#probing = false;
      }
      // Straight down to what the estimate carries, not one step at a time: congestion must end fast.
      const below = available.filter((l) => l < this.current);
      const fits = Number.isFinite(i.budget)
        ? below.filter((l) => i.bitrates[l]! <= i.budget)
        : below.slice(-1);
      this.current = fits.at(-1) ?? lowest;
      this.#okSince = 0;
      if (lossy) {
        this.#lossDownFrom = i.loss;
        this.#lossDownAt = i.now;
      }
      return this.current;
    }
    if (this.current > highest) {
      this.current = highest;
    }
    if (i.loss > this.#inherentLoss + LOSS_UP || i.budgetFalling || this.current >= highest) {
      this.#okSince = 0;
      return this.current;
    }
    if (this.#okSince === 0) {
      this.#okSince = i.now;
    } else if (i.now - this.#okSince >= this.#hold) {
      this.current = available.find((l) => l > this.current)!;
      this.#upgradedAt = i.now;
      this.#probing = true;
      this.#okSince = 0;
    }
    return this.current;
  }

  /**
   * Learns the link's inherent loss: a step down for loss that did not lower it shows loss that does
   * not depend on the rate (then that step was no failed probe: the quick hold comes back); a link
   * losing less than we thought lowers it at once. On the lowest layer every loss counts as the
   * link's own (nothing lower to compare with): a probe up then tells whether loss rises with rate.
   */
  #learnLoss(loss: number, now: number, lowest: boolean): void {
    if (lowest) {
      this.#inherentLoss = loss;
      this.#lossDownFrom = 0;
      return;
    }
    if (this.#lossDownFrom > 0 && now - this.#lossDownAt >= LOSS_VERIFY_MS) {
      if (loss >= this.#lossDownFrom * LOSS_KEPT_RATIO) {
        this.#inherentLoss = Math.max(this.#inherentLoss, loss);
        this.#hold = UP_HOLD_MS;
      } else {
        // Congestion confirmed: the layer above does not fit, wait longer before trying it.
        this.#hold = Math.min(this.#hold * 2, MAX_HOLD_MS);
      }
      this.#lossDownFrom = 0;
    }
    if (loss < this.#inherentLoss) {
      this.#inherentLoss = loss;
    }
  }

  /** The ceiling changed by hand: the next selection applies it at once, without probing. */
  reset(): void {
    this.current = -1;
    this.#okSince = 0;
    this.#hold = UP_HOLD_MS;
  }
}

/**
 * Layers worth forwarding: flowing, and not starved. A sender short of bandwidth (Chrome) keeps an
 * upper layer alive at a bitrate below the layer under it, at a few frames per second; switching to
 * it would look like a freeze. Such a layer counts as not available until it carries more.
 */
export function usableLayers(bitrates: readonly number[]): number[] {
  const out: number[] = [];
  let below = 0;
  for (let l = 0; l < bitrates.length; l++) {
    const rate = bitrates[l]!;
    if (rate > 0 && rate >= below) {
      out.push(l);
      below = rate;
    }
  }
  return out;
}
