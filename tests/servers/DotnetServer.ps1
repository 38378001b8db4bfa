# Shared by Start-Git.ps1 / Start-GitHosts.ps1 and their Stop scripts (a helper, not a server script): a test server
# that is a .NET project, built into <WorkDirectory>/bin, started on 127.0.0.1 on a free port that it writes to
# <WorkDirectory>/port, with its process id in <WorkDirectory>/pid so that the Stop script stops only that process.

function Start-DotnetServer {
    <#
    Builds -Project, starts its -Dll with -Arguments plus --port-file, waits (60 s at most) until it has written its
    port and answers GET <url><HealthPath>; returns the URL (http://127.0.0.1:<port>). Output goes to <WorkDirectory>/<Log>
    and <Log>.err. -Name says what failed in errors ("The <Name> exited ...").
    #>
    param(
        [Parameter(Mandatory)][string]$Name,
        [Parameter(Mandatory)][string]$Project,
        [Parameter(Mandatory)][string]$Dll,
        [Parameter(Mandatory)][string]$WorkDirectory,
        [Parameter(Mandatory)][string[]]$Arguments,
        [Parameter(Mandatory)][string]$HealthPath,
        [Parameter(Mandatory)][string]$Log
    )
    $bin = Join-Path $WorkDirectory 'bin'
    $portFile = Join-Path $WorkDirectory 'port'
    $pidFile = Join-Path $WorkDirectory 'pid'
    Remove-Item -LiteralPath $portFile -ErrorAction SilentlyContinue

    $build = & dotnet build $Project -c Release -o $bin --nologo -v quiet 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Building the $Name failed:`n$($build -join "`n")" }

    $logFile = Join-Path $WorkDirectory $Log
    $process = Start-Process -FilePath 'dotnet' -PassThru -RedirectStandardOutput $logFile -RedirectStandardError "$logFile.err" -ArgumentList (
        @((Join-Path $bin $Dll)) + $Arguments + @('--port-file', $portFile))
    Set-Content -LiteralPath $pidFile -Value $process.Id

    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while (-not (Test-Path -LiteralPath $portFile)) {
        if ($process.HasExited) { throw "The $Name exited ($($process.ExitCode)): $(Get-Content -Raw "$logFile.err" -ErrorAction SilentlyContinue)" }
        if ([DateTime]::UtcNow -gt $deadline) { throw "The $Name did not start within 60 s." }
        Start-Sleep -Milliseconds 100
    }
    $url = "http://127.0.0.1:$((Get-Content -Raw -LiteralPath $portFile).Trim())"
    $null = Invoke-WebRequest -Uri "$url$HealthPath" -UseBasicParsing -TimeoutSec 10
    $url
}

function Stop-DotnetServer {
    <# Stops the server Start-DotnetServer started in -WorkDirectory (only that process; nothing when none is running). #>
    param([Parameter(Mandatory)][string]$WorkDirectory)
    $pidFile = Join-Path $WorkDirectory 'pid'
    if (Test-Path -LiteralPath $pidFile) {
        $id = [int](Get-Content -Raw -LiteralPath $pidFile)
        $process = Get-Process -Id $id -ErrorAction SilentlyContinue
        if ($process -and $process.ProcessName -like 'dotnet*') {
            $process.Kill($true)
            $null = $process.WaitForExit(10000)
        }
        Remove-Item -LiteralPath $pidFile -ErrorAction SilentlyContinue
    }
}
