# Helpers of Start-Docker.ps1 and Stop-Docker.ps1 (dot-sourced; not a start script itself).

function Install-DockerPackages {
    <# Installs Debian's docker.io and docker-registry when missing, without letting their services start (Prerequisites.ps1). #>
    . (Join-Path $PSScriptRoot 'Prerequisites.ps1')
    Install-Prerequisite -Caller 'Start-Docker' -Requirement ([ordered]@{
            '/usr/sbin/dockerd' = 'docker.io'; '/usr/bin/docker' = 'docker.io'; '/usr/bin/docker-registry' = 'docker-registry' })
}

function Start-DetachedProcess {
    <#
    Starts a server whose output goes to -LogPath through the shell's own redirection (exec: the process id is the
    server's). Start-Process -RedirectStandardOutput would pipe the output through this PowerShell process, and the
    server would die of SIGPIPE on its next log line once this process has exited.
    #>
    param(
        [Parameter(Mandatory)][string]$FilePath,
        [Parameter(Mandatory)][string[]]$ArgumentList,
        [Parameter(Mandatory)][string]$LogPath
    )
    $script = 'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null'
    $info = [System.Diagnostics.ProcessStartInfo]::new('/usr/bin/setsid')
    $info.UseShellExecute = $false
    foreach ($argument in @('/bin/sh', '-c', $script, 'sh', $LogPath, $FilePath) + $ArgumentList) {
        $info.ArgumentList.Add($argument)
    }
    [System.Diagnostics.Process]::Start($info)
}

function Get-FreeTcpPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Wait-ServerCondition {
    <# Polls -Condition until true; throws after -TimeoutSeconds or when -Process exits first. #>
    param(
        [Parameter(Mandatory)][scriptblock]$Condition,
        [Parameter(Mandatory)][string]$Because,
        [System.Diagnostics.Process]$Process,
        [string]$LogPath,
        [double]$TimeoutSeconds = 60
    )
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        $log = if ($LogPath -and (Test-Path -LiteralPath $LogPath)) { (Get-Content -LiteralPath $LogPath -Tail 20) -join "`n" }
        if ($Process -and $Process.HasExited) {
            throw "The process for $Because exited with code $($Process.ExitCode):`n$log"
        }
        if ([DateTime]::UtcNow -gt $deadline) {
            throw "Timed out after ${TimeoutSeconds}s waiting for ${Because}:`n$log"
        }
        Start-Sleep -Milliseconds 100
    }
}

function Start-TestRegistry {
    <# Starts docker-registry on a free 127.0.0.1 port with filesystem storage under -WorkDirectory; returns its URL. #>
    param(
        [Parameter(Mandatory)][string]$WorkDirectory,
        [Parameter(Mandatory)][string]$Name,
        [string]$HtpasswdPath
    )
    $port = Get-FreeTcpPort
    $root = Join-Path $WorkDirectory "$Name-data"
    $null = New-Item -ItemType Directory -Force -Path $root
    $config = @(
        'version: 0.1'
        'log:'
        '  level: warn'
        'storage:'
        '  filesystem:'
        "    rootdirectory: $root"
        '  delete:'
        '    enabled: true'
        'http:'
        "  addr: 127.0.0.1:$port"
        "  secret: flowstore-test-$Name"
    )
    if ($HtpasswdPath) {
        $config += @(
            'auth:'
            '  htpasswd:'
            '    realm: flowstore-test'
            "    path: $HtpasswdPath"
        )
    }
    $configPath = Join-Path $WorkDirectory "$Name.yml"
    $config | Set-Content -LiteralPath $configPath
    $log = Join-Path $WorkDirectory "$Name.log"
    $process = Start-DetachedProcess -FilePath /usr/bin/docker-registry -ArgumentList @('serve', $configPath) -LogPath $log
    Set-Content -LiteralPath (Join-Path $WorkDirectory "$Name.pid") -Value $process.Id
    $url = "http://127.0.0.1:$port"
    $client = [System.Net.Http.HttpClient]::new()
    try {
        Wait-ServerCondition -Process $process -LogPath $log -Because "the registry $Name at $url" -Condition {
            try {
                $status = [int]$client.GetAsync("$url/v2/").GetAwaiter().GetResult().StatusCode
                $status -in 200, 401
            }
            catch { $false }
        }
    }
    finally { $client.Dispose() }
    $url
}

function Test-DockerPing {
    <# True when the engine at the unix socket answers GET /_ping with 200. #>
    param([Parameter(Mandatory)][string]$Socket)
    if (-not (Test-Path -LiteralPath $Socket)) { return $false }
    $s = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::Unix, [System.Net.Sockets.SocketType]::Stream,
        [System.Net.Sockets.ProtocolType]::Unspecified)
    try {
        $s.Connect([System.Net.Sockets.UnixDomainSocketEndPoint]::new($Socket))
        $null = $s.Send([Text.Encoding]::ASCII.GetBytes("GET /_ping HTTP/1.0`r`nHost: docker`r`n`r`n"))
        $buffer = [byte[]]::new(256)
        $read = $s.Receive($buffer)
        [Text.Encoding]::ASCII.GetString($buffer, 0, $read).StartsWith('HTTP/1.0 200') -or
            [Text.Encoding]::ASCII.GetString($buffer, 0, $read).StartsWith('HTTP/1.1 200')
    }
    catch { $false }
    finally { $s.Dispose() }
}

function Start-TestDockerEngine {
    <#
    Starts dockerd with everything under -WorkDirectory (socket, data root, exec root, pid file, an empty config
    file so /etc/docker/daemon.json is not read); returns its DOCKER_HOST (unix://...).
    #>
    param([Parameter(Mandatory)][string]$WorkDirectory)
    $socket = Join-Path $WorkDirectory 'docker.sock'
    $data = Join-Path $WorkDirectory 'engine-data'
    $exec = Join-Path $WorkDirectory 'engine-exec'
    $null = New-Item -ItemType Directory -Force -Path $data, $exec
    $configFile = Join-Path $WorkDirectory 'daemon.json'
    Set-Content -LiteralPath $configFile -Value '{}'
    Remove-Item -LiteralPath $socket, (Join-Path $exec 'dockerd.pid') -Force -ErrorAction SilentlyContinue
    $arguments = @(
        '-H', "unix://$socket"
        '--data-root', $data
        '--exec-root', $exec
        '--pidfile', (Join-Path $exec 'dockerd.pid')
        '--config-file', $configFile
        '--storage-driver=vfs', '--iptables=false', '--ip-masq=false', '--bridge=none'
    )
    $log = Join-Path $WorkDirectory 'dockerd.log'
    $process = Start-DetachedProcess -FilePath /usr/sbin/dockerd -ArgumentList $arguments -LogPath $log
    Set-Content -LiteralPath (Join-Path $WorkDirectory 'dockerd.pid') -Value $process.Id
    Wait-ServerCondition -Process $process -LogPath $log -Because "dockerd at $socket" -TimeoutSeconds 90 -Condition {
        Test-DockerPing -Socket $socket
    }
    "unix://$socket"
}

function Stop-PidFileProcess {
    <#
    Stops the process named by a pid file (SIGTERM, then SIGKILL after 30 s) if it is still the one that was started
    (its command line names the pid file's folder), then removes the pid file. Never throws.
    #>
    param([Parameter(Mandatory)][string]$PidFile)
    if (-not (Test-Path -LiteralPath $PidFile)) { return }
    try {
        $id = [int](Get-Content -LiteralPath $PidFile -Raw).Trim()
        $folder = Split-Path -Parent $PidFile
        $cmdline = "/proc/$id/cmdline"
        if ((Test-Path -LiteralPath $cmdline) -and ([IO.File]::ReadAllText($cmdline).Contains($folder))) {
            & kill -s TERM $id 2>$null
            $process = Get-Process -Id $id -ErrorAction SilentlyContinue
            if ($process -and -not $process.WaitForExit(30000)) {
                $process.Kill()
                $null = $process.WaitForExit(10000)
            }
        }
    }
    catch {
        Write-Warning "Could not stop the process of ${PidFile}: $_"
    }
    Remove-Item -LiteralPath $PidFile -Force -ErrorAction SilentlyContinue
}
