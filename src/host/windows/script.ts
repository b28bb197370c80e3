/**
 * The PowerShell porthole runs on Windows, built as strings. Pure.
 *
 * One inspection is ONE `powershell.exe` start (each costs hundreds of milliseconds): listeners,
 * their processes, the firewall profiles, the network's profile, the enabled inbound rules and
 * their filters, Security Center and elevation, printed as one JSON document. Every cmdlet
 * gives structured objects; nothing reads netsh or netstat, whose words are translated.
 *
 * The scripts use single quotes only: Node quotes a Windows command line with double quotes
 * and Windows PowerShell 5.1 strips embedded ones from `-Command`, so a double quote inside
 * the script would silently change it.
 */

/** The Windows PowerShell every supported Windows has (5.1); PowerShell 7 is `pwsh.exe`. */
export const POWERSHELL = 'powershell.exe';

/** PowerShell quoting for a literal: single quotes, a quote inside doubled. */
export function psQuote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The arguments that run `script` without a profile or prompts. */
export function powershellArgs(script: string): string[] {
  return ['-NoProfile', '-NonInteractive', '-Command', script];
}

/** The output is read as UTF-8 without a BOM: 5.1 would otherwise write the console's OEM code page. */
const PREAMBLE = [
  "$ErrorActionPreference = 'Stop'",
  "$ProgressPreference = 'SilentlyContinue'",
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false',
];

/** The document's format, so a parser can tell a future layout from this one. */
export const SNAPSHOT_FORMAT = 1;

function portList(ports: readonly number[]): string {
  const valid = [...new Set(ports)].filter((port) => Number.isInteger(port) && port > 0 && port < 65536);
  // An empty filter would list every socket; port 0 matches none.
  return `@(${(valid.length > 0 ? valid : [0]).join(', ')})`;
}

/**
 * The inspection script: one JSON document with a section per question. A section that fails
 * is null and its error is listed under `errors`, so one missing cmdlet does not lose the rest.
 * Rule filters are read with `-All` and joined by InstanceID (one call per filter kind, not one
 * per rule: hundreds of rules would take minutes), and only for the enabled inbound rules.
 */
export function inspectScript(ports: readonly number[]): string {
  return [
    ...PREAMBLE,
    `$ports = ${portList(ports)}`,
    `$out = [ordered]@{ porthole = ${SNAPSHOT_FORMAT}; psVersion = $PSVersionTable.PSVersion.ToString(); errors = @() }`,
    'function Read-Section([string]$name, [scriptblock]$read) {',
    "  try { $out[$name] = @(& $read) } catch { $out[$name] = $null; $out['errors'] += ($name + ': ' + $_.Exception.Message) }",
    '}',
    "Read-Section 'tcp' { Get-NetTCPConnection -State Listen -LocalPort $ports -ErrorAction SilentlyContinue | Select-Object LocalAddress, LocalPort, OwningProcess }",
    "Read-Section 'udp' { Get-NetUDPEndpoint -LocalPort $ports -ErrorAction SilentlyContinue | Select-Object LocalAddress, LocalPort, OwningProcess }",
    "$pids = @(@($out['tcp']) + @($out['udp']) | Where-Object { $_ } | ForEach-Object { $_.OwningProcess } | Sort-Object -Unique)",
    "Read-Section 'processes' { if ($pids.Count -gt 0) { Get-Process -Id $pids -ErrorAction SilentlyContinue | Select-Object Id, ProcessName, Path } }",
    "Read-Section 'profiles' { Get-NetFirewallProfile -PolicyStore ActiveStore | Select-Object Name, Enabled, DefaultInboundAction, AllowInboundRules }",
    "Read-Section 'networks' { Get-NetConnectionProfile | Select-Object Name, InterfaceAlias, NetworkCategory }",
    "Read-Section 'rules' { Get-NetFirewallRule -PolicyStore ActiveStore -Direction Inbound -Enabled True | Select-Object InstanceID, DisplayName, Enabled, Direction, Action, @{ n = 'Profiles'; e = { [string]$_.Profile } } }",
    "$ids = @{}; foreach ($rule in @($out['rules'])) { if ($rule) { $ids[[string]$rule.InstanceID] = $true } }",
    "Read-Section 'portFilters' { Get-NetFirewallPortFilter -All -PolicyStore ActiveStore | Where-Object { $ids.ContainsKey([string]$_.InstanceID) } | Select-Object InstanceID, Protocol, LocalPort }",
    "Read-Section 'addressFilters' { Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore | Where-Object { $ids.ContainsKey([string]$_.InstanceID) } | Select-Object InstanceID, RemoteAddress }",
    "Read-Section 'applicationFilters' { Get-NetFirewallApplicationFilter -All -PolicyStore ActiveStore | Where-Object { $ids.ContainsKey([string]$_.InstanceID) } | Select-Object InstanceID, Program }",
    // Windows Server has no root/SecurityCenter2: null here, and the reason under errors.
    "Read-Section 'securityCenter' { Get-CimInstance -Namespace root/SecurityCenter2 -ClassName FirewallProduct | Select-Object displayName, productState }",
    '$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())',
    "$out['elevated'] = $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)",
    '$out | ConvertTo-Json -Depth 5 -Compress',
  ].join('\n');
}

/** Elevation and the network's profile category, in one short run (before applying rules). */
export function probeScript(): string {
  return [
    ...PREAMBLE,
    '$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())',
    '[ordered]@{ elevated = $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator); categories = @(Get-NetConnectionProfile -ErrorAction SilentlyContinue | ForEach-Object { [int]$_.NetworkCategory }) } | ConvertTo-Json -Compress',
  ].join('\n');
}

/** This host's established TCP connections on the ports (identity by connection). */
export function connectionsScript(ports: readonly number[]): string {
  return [
    ...PREAMBLE,
    `@(Get-NetTCPConnection -State Established -LocalPort ${portList(ports)} -ErrorAction SilentlyContinue | Select-Object LocalAddress, LocalPort, RemoteAddress, RemotePort) | ConvertTo-Json -Depth 3 -Compress`,
  ].join('\n');
}
