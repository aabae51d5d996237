# Installs xfer on Windows: downloads xfer-windows-x64.exe and SHA256SUMS, verifies the checksum,
# and refuses to install on a mismatch.
#   irm <base>/install.ps1 | iex
#   $env:XFER_INSTALL_BASE = <url of a release's files>; $env:XFER_INSTALL_DIR = <folder>
$ErrorActionPreference = "Stop"
$base = if ($env:XFER_INSTALL_BASE) { $env:XFER_INSTALL_BASE } else { "https://github.com/xfer-dev/xfer/releases/latest/download" }
$dir = if ($env:XFER_INSTALL_DIR) { $env:XFER_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA "xfer\bin" }
if (-not [Environment]::Is64BitOperatingSystem) { throw "xfer install: only 64-bit Windows is supported" }
$name = "xfer-windows-x64.exe"
$tmp = Join-Path ([IO.Path]::GetTempPath()) ("xfer-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  Write-Host "downloading $name from $base"
  Invoke-WebRequest -UseBasicParsing "$base/SHA256SUMS" -OutFile (Join-Path $tmp "SHA256SUMS")
  Invoke-WebRequest -UseBasicParsing "$base/$name" -OutFile (Join-Path $tmp $name)
  $line = Get-Content (Join-Path $tmp "SHA256SUMS") | Where-Object { ($_ -split "\s+")[1] -eq $name }
  if (-not $line) { throw "xfer install: SHA256SUMS has no entry for $name" }
  $expected = ($line -split "\s+")[0].ToLower()
  $actual = (Get-FileHash -Algorithm SHA256 (Join-Path $tmp $name)).Hash.ToLower()
  if ($actual -ne $expected) { throw "xfer install: checksum mismatch for $name (expected $expected, got $actual): not installed" }
  New-Item -ItemType Directory -Force -Path $dir | Out-Null
  Move-Item -Force (Join-Path $tmp $name) (Join-Path $dir "xfer.exe")
  Write-Host "installed $(Join-Path $dir 'xfer.exe')"
  if (-not (($env:PATH -split ";") -contains $dir)) { Write-Host "note: $dir is not on your PATH" }
} finally {
  Remove-Item -Recurse -Force $tmp
}
