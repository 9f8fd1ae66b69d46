// Percentiles and medians.

/** Nearest-rank percentile of an ascending-sorted array (q in 0..1). */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

export function distribution(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

/** p99 per sender index, over every receipt (deliveries and the ack) of that sender's messages. */
export function perSenderP99(parts) {
  const bySender = new Map();
  for (const { lat, who } of parts) {
    for (let i = 0; i < lat.length; i++) {
      let arr = bySender.get(who[i]);
      if (!arr) bySender.set(who[i], (arr = []));
      arr.push(lat[i]);
    }
  }
  const out = {};
  for (const [sender, arr] of [...bySender].sort((a, b) => a[0] - b[0])) out[sender] = distribution(arr).p99;
  return out;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
