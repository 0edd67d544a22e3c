/**
 * Severities, from most to least severe, and the conversions from what each tool reports.
 */

export const SEVERITIES = ["critical", "high", "medium", "low"] as const;

export type Severity = (typeof SEVERITIES)[number];

/** The `--fail-on` threshold: a severity, or `none` to never fail on findings. */
export type Threshold = Severity | "none";

export const THRESHOLDS: readonly Threshold[] = [...SEVERITIES, "none"];

/** Higher is more severe. */
export function rank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

/** Whether a finding of `severity` fails a scan run with `--fail-on threshold`. */
export function meets(severity: Severity, threshold: Threshold): boolean {
  return threshold !== "none" && rank(severity) >= rank(threshold);
}

export function parseThreshold(text: string): Threshold | undefined {
  return THRESHOLDS.find((threshold) => threshold === text.toLowerCase());
}

/** CVSS base score bands, as CVSS v3 and v4 define them (0 is "none": reported as low). */
export function fromCvssScore(score: number): Severity {
  if (score >= 9) return "critical";
  if (score >= 7) return "high";
  if (score >= 4) return "medium";
  return "low";
}

/** The words advisories use (GHSA: LOW, MODERATE, HIGH, CRITICAL). */
export function fromWord(word: string): Severity | undefined {
  switch (word.trim().toLowerCase()) {
    case "critical":
      return "critical";
    case "high":
    case "error":
      return "high";
    case "moderate":
    case "medium":
    case "warning":
      return "medium";
    case "low":
    case "info":
    case "informational":
    case "note":
      return "low";
    default:
      return undefined;
  }
}

/** The SARIF `level` GitHub shows for a severity. */
export function sarifLevel(severity: Severity): "error" | "warning" | "note" {
  switch (severity) {
    case "critical":
    case "high":
      return "error";
    case "medium":
      return "warning";
    case "low":
      return "note";
  }
}

/**
 * GitHub code scanning's `security-severity` property: a CVSS-like score whose band is
 * the severity (over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, below low).
 */
export function securitySeverity(severity: Severity): string {
  switch (severity) {
    case "critical":
      return "9.5";
    case "high":
      return "8.0";
    case "medium":
      return "5.5";
    case "low":
      return "2.0";
  }
}
