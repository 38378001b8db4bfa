# Up-to-date checks of build.ps1 (dot-sourced; tests/Pester/Build.Tests.ps1 tests them). A step's inputs are
# fingerprinted by content (SHA-256 over each file's relative path and bytes), and the fingerprint it was last built
# from is kept in a stamp file next to its output: an unchanged tree skips the step, any edit, added or removed file
# runs it again.

$script:SkippedFolders = @('bin', 'obj', 'out', 'node_modules', '.git', '.vs', 'TestResults')

function Get-InputFingerprint {
    <#
    .SYNOPSIS
    SHA-256 (hex) over the files under -Path (files or folders, relative to -Root, recursively, skipping bin/obj/out,
    node_modules and .git; a missing path counts as absent), optionally only those matching -Include, plus -Extra strings.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)][string]$Root,
        [Parameter(Mandatory)][string[]]$Path,
        [string[]]$Include = @('*'),
        [string[]]$Extra = @()
    )
    $files = [System.Collections.Generic.List[string]]::new()
    foreach ($p in $Path) {
        $full = Join-Path $Root $p
        if (Test-Path -LiteralPath $full -PathType Leaf) { $files.Add((Resolve-Path -LiteralPath $full).ProviderPath) }
        elseif (Test-Path -LiteralPath $full -PathType Container) { Add-InputFile -Folder (Resolve-Path -LiteralPath $full).ProviderPath -Include $Include -Files $files }
    }
    $rootFull = [IO.Path]::GetFullPath($Root)
    $relative = $files | ForEach-Object { [IO.Path]::GetRelativePath($rootFull, $_).Replace('\', '/') } | Sort-Object -Unique -CaseSensitive
    $hash = [System.Security.Cryptography.IncrementalHash]::CreateHash([System.Security.Cryptography.HashAlgorithmName]::SHA256)
    try {
        foreach ($e in $Extra) { $hash.AppendData([Text.Encoding]::UTF8.GetBytes("extra:$e`n")) }
        foreach ($r in $relative) {
            $hash.AppendData([Text.Encoding]::UTF8.GetBytes("file:$r`n"))
            $hash.AppendData([System.Security.Cryptography.SHA256]::HashData([IO.File]::ReadAllBytes((Join-Path $rootFull $r))))
        }
        [Convert]::ToHexString($hash.GetHashAndReset()).ToLowerInvariant()
    }
    finally { $hash.Dispose() }
}

function Add-InputFile([string]$Folder, [string[]]$Include, [System.Collections.Generic.List[string]]$Files) {
    foreach ($item in [IO.Directory]::EnumerateFileSystemEntries($Folder)) {
        $name = [IO.Path]::GetFileName($item)
        if ([IO.Directory]::Exists($item)) {
            if ($name -notin $script:SkippedFolders) { Add-InputFile -Folder $item -Include $Include -Files $Files }
        }
        elseif ($Include | Where-Object { $name -like $_ }) { $Files.Add($item) }
    }
}

function Read-BuildStamp([string]$Path) {
    <# The fingerprints a stamp file holds (step name -> fingerprint); empty when there is none or it is unreadable. #>
    $stamp = @{}
    if (Test-Path -LiteralPath $Path -PathType Leaf) {
        try {
            $json = Get-Content -LiteralPath $Path -Raw | ConvertFrom-Json -AsHashtable
            foreach ($k in $json.Keys) { $stamp[$k] = [string]$json[$k] }
        }
        catch { $stamp = @{} }
    }
    $stamp
}

function Write-BuildStamp([string]$Path, [hashtable]$Stamp) {
    $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path)
    $Stamp | ConvertTo-Json | Set-Content -LiteralPath $Path -Encoding utf8NoBOM
}

function Test-BuildStepCurrent {
    <#
    .SYNOPSIS
    True when step -Name was last built from -Fingerprint (per the stamp) and every -Output path still exists
    (a folder must hold at least one file).
    #>
    param(
        [Parameter(Mandatory)][hashtable]$Stamp,
        [Parameter(Mandatory)][string]$Name,
        [Parameter(Mandatory)][string]$Fingerprint,
        [string[]]$Output = @()
    )
    if ($Stamp[$Name] -ne $Fingerprint) { return $false }
    foreach ($o in $Output) {
        if (Test-Path -LiteralPath $o -PathType Leaf) { continue }
        if ((Test-Path -LiteralPath $o -PathType Container) -and @(Get-ChildItem -LiteralPath $o -File -Recurse | Select-Object -First 1).Count -gt 0) { continue }
        return $false
    }
    $true
}
