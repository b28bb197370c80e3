/**
 * The fleet's NATS subjects, one place. Roles map onto them in nats-server's permissions:
 * fronts publish orders and discovery, vantages publish health and answer on reply subjects
 * (`allow_responses`), so a vantage's credentials cannot send an order.
 */

/** Every subject the fleet uses starts here. */
export const SUBJECT_ROOT = 'porthole';

/** NATS tokens are dot-separated and `*`/`>` are wildcards: names must be plain tokens. */
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a vantage or region name is usable as one subject token. */
export function isSubjectToken(name: string): boolean {
  return TOKEN.test(name);
}

/** Orders for any vantage of a region (queue group: one vantage of the region answers). */
export function regionOrderSubject(region: string): string {
  return `${SUBJECT_ROOT}.check.region.${region}`;
}

/** Orders for one vantage by name. */
export function vantageOrderSubject(name: string): string {
  return `${SUBJECT_ROOT}.check.vantage.${name}`;
}

/** The queue group of a region's vantages: NATS gives each order to one member. */
export function regionQueue(region: string): string {
  return `porthole-region-${region}`;
}

/** Health reports of one vantage. */
export function healthSubject(name: string): string {
  return `${SUBJECT_ROOT}.health.${name}`;
}

/** Every vantage's health reports. */
export const HEALTH_WILDCARD = `${SUBJECT_ROOT}.health.*`;

/** A front asks every vantage to report at once (a fresh front learns the fleet without waiting). */
export const DISCOVER_SUBJECT = `${SUBJECT_ROOT}.discover`;

/** KV bucket of per-caller check counts, shared by every front. */
export const LIMITS_BUCKET = 'porthole_limits';

/** KV bucket where each check is recorded once, by id. */
export const CHECKS_BUCKET = 'porthole_checks';
