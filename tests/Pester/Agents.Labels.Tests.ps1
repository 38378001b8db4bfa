# Agents and labels through the real server process (Start-FlowServer): agents claim only runs of flows whose labels are
# all among their own; a run no agent may take stays Scheduled and says why; a flow with Local storage registered through
# the server carries the registering machine's host name. Each agent is a pwsh process of its own with a home of its own;
# FLOWSTORE_HOST_NAME plays the machine it runs on (the real host name is the same for all of them).

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $script:manifest = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
    $script:serverHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-labels-server-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:server = Start-FlowServer -Home $serverHome -NoApiKeys # labels, not keys, are what this file is about
    $script:agentHomes = [System.Collections.Generic.List[string]]::new()

    function Start-Agent {
        <# Start-FlowAgent -Once -PassThru in a pwsh process of its own (own home, the server, FLOWSTORE_HOST_NAME = -HostName). #>
        param([Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)][string]$HostName, [string[]]$Label = @())
        $agentHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-agent-$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:agentHomes.Add($agentHome)
        $labels = if ($Label.Count) { '-Label ' + (($Label | ForEach-Object { "'$_'" }) -join ', ') } else { '' }
        $command = @"
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$($script:manifest)'
`$ids = @(Start-FlowAgent -Name '$Name' $labels -Once -PassThru -ErrorAction Continue | ForEach-Object { "`$(`$_.Id)" })
ConvertTo-Json -InputObject `$ids -Compress
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
        $executable = [Environment]::ProcessPath
        $arguments = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) +
            @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        $log = Join-Path $TestDrive ("agent-$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $environment = @{ FLOWSTORE_HOME = $agentHome; FLOWSTORE_SERVER_URL = $server.Url; FLOWSTORE_API_KEY = $null; FLOWSTORE_HOST_NAME = $HostName }
        $process = Start-Process -FilePath $executable -ArgumentList $arguments -Environment $environment -PassThru `
            -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err"
        $process | Add-Member -NotePropertyName LogPath -NotePropertyValue $log -PassThru
    }

    function Receive-Agent {
        <# Waits for an agent process; returns the ids of the runs it executed. #>
        param([Parameter(Mandatory)]$Process)
        if (-not $Process.WaitForExit(300000)) { $Process.Kill($true); throw "Agent process $($Process.Id) did not end within 300 s." }
        $Process.WaitForExit()
        $out = Get-Content -Raw -LiteralPath "$($Process.LogPath).out" -ErrorAction SilentlyContinue
        $err = Get-Content -Raw -LiteralPath "$($Process.LogPath).err" -ErrorAction SilentlyContinue
        if ($Process.ExitCode -ne 0) { throw "Agent process failed (exit $($Process.ExitCode)): $err $out" }
        $json = @(($out ?? '') -split "`n" | Where-Object { $_.Trim().StartsWith('[') }) | Select-Object -Last 1
        if (-not $json) { throw "Agent process output no run list: $err $out" }
        @($json | ConvertFrom-Json)
    }

    function Use-Server {
        <# This pwsh as a machine of the team: a new home, the server, FLOWSTORE_HOST_NAME = -HostName. #>
        param([Parameter(Mandatory)][string]$HostName)
        $null = Enter-TestHome
        $env:FLOWSTORE_SERVER_URL = $server.Url
        $env:FLOWSTORE_HOST_NAME = $HostName
    }

    function Exit-Server {
        Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_HOST_NAME -ErrorAction SilentlyContinue
        Exit-TestHome
    }
}

AfterAll {
    Stop-FlowServer -Home $serverHome -ErrorAction SilentlyContinue
    foreach ($path in @($serverHome) + $agentHomes) {
        Remove-Item -LiteralPath $path -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Describe 'Two agents with different labels on one server' {
    BeforeAll {
        Use-Server -HostName 'ci-box'
        $flows = [ordered]@{ etl_only = @('etl'); gpu_only = @('gpu'); etl_and_gpu = @('etl', 'gpu'); anyone = @() }
        $script:queued = @{}
        foreach ($name in $flows.Keys) {
            $file = New-FlowScript "$TestDrive/$name.cs" (Get-LinearFlowBody -Name $name -Message "$name ran")
            # -NoHostLabel: the agents read the files where the CI box wrote them (one real machine).
            $registration = Register-Flow -Path $file -Project Labels -CreateProject -Label $flows[$name] -NoHostLabel
            $registration.Status | Should -Be 'Registered'
            $script:queued[$name] = @(1..2 | ForEach-Object { Start-FlowRun -Name $name -Project Labels })
        }
        $script:waitingBefore = Get-FlowRun -Id $queued['gpu_only'][0].Id

        $a = Start-Agent -Name 'agent-a' -HostName 'home-a' -Label etl
        $b = Start-Agent -Name 'agent-b' -HostName 'home-b' -Label gpu
        $script:ranByA = Receive-Agent $a
        $script:ranByB = Receive-Agent $b
    }

    AfterAll { Exit-Server }

    It 'a run that no agent seen may take says why before any agent comes' {
        $waitingBefore.State | Should -Be 'Scheduled'
        $waitingBefore.WaitReason | Should -Be 'no agent with label gpu has been seen in the last 5 minutes'
    }

    It 'runs each flow on an agent whose labels cover the flow''s, never on the other' {
        foreach ($run in $queued['etl_only']) {
            $seen = Get-FlowRun -Id $run.Id
            $seen.State | Should -Be 'Success'
            $seen.Agent | Should -BeLike 'agent-a@*'
            $ranByA | Should -Contain "$($run.Id)"
        }
        foreach ($run in $queued['gpu_only']) {
            $seen = Get-FlowRun -Id $run.Id
            $seen.State | Should -Be 'Success'
            $seen.Agent | Should -BeLike 'agent-b@*'
            $ranByB | Should -Contain "$($run.Id)"
        }
        foreach ($run in $queued['anyone']) {
            (Get-FlowRun -Id $run.Id).State | Should -Be 'Success'
        }
        @($ranByA + $ranByB).Count | Should -Be 6
        @($ranByA + $ranByB | Select-Object -Unique).Count | Should -Be 6
    }

    It 'a flow that no agent covers stays Scheduled and Get-FlowRun says why' {
        foreach ($run in $queued['etl_and_gpu']) {
            $seen = Get-FlowRun -Id $run.Id
            $seen.State | Should -Be 'Scheduled'
            $seen.Agent | Should -BeNullOrEmpty
            $seen.WaitReason | Should -Be 'no agent with labels etl, gpu has been seen in the last 5 minutes'
        }
        $listed = Get-FlowRun -Name etl_and_gpu -Project Labels
        $listed.Count | Should -Be 2
        @($listed.WaitReason | Select-Object -Unique) | Should -Be 'no agent with labels etl, gpu has been seen in the last 5 minutes'
        (Get-FlowRun -Id $queued['etl_and_gpu'][0].Id | Format-List | Out-String) | Should -Match 'WaitReason\s+: no agent with labels etl, gpu'
    }

    It 'Get-FlowAgent lists both agents with their host, labels, version and no current run' {
        $agents = @(Get-FlowAgent -Name 'agent-*')
        $agents.Count | Should -Be 2
        $agents[0].GetType().FullName | Should -Be 'Flowstore.AgentRecord'
        $agents[0].Name | Should -BeLike 'agent-a@*'
        $agents[0].Host | Should -Be 'home-a'
        $agents[0].Labels | Should -Be @('etl', 'home-a')
        $agents[1].Host | Should -Be 'home-b'
        $agents[1].Labels | Should -Be @('gpu', 'home-b')
        $agents.CurrentRuns | Should -Be @(0, 0)
        $agents | ForEach-Object { $_.Version | Should -Not -BeNullOrEmpty; $_.LastSeen | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddMinutes(-5)) }
        $table = Get-FlowAgent -Name 'agent-*' | Out-String -Width 200
        $table | Should -Match 'Name\s+Host\s+Labels\s+LastSeen\s+Runs\s+Version'
        $table | Should -Match 'home-b\s+gpu, home-b'
    }

    It 'Get-FlowAgent leaves out agents not seen within the list window unless -All is given' {
        $env:FLOWSTORE_AGENT_LIST_WINDOW = '0.001' # seconds: both agent processes ended before this
        try {
            @(Get-FlowAgent -Name 'agent-*').Count | Should -Be 0
            $all = @(Get-FlowAgent -Name 'agent-*' -All)
            $all.Name | Should -BeLike 'agent-?@*'
            $all.Host | Should -Be @('home-a', 'home-b')
        }
        finally {
            Remove-Item env:FLOWSTORE_AGENT_LIST_WINDOW -ErrorAction SilentlyContinue
        }
        @(Get-FlowAgent -Name 'agent-*').Count | Should -Be 2
    }
}

Describe 'A Local-storage flow registered through the server' {
    BeforeAll {
        Use-Server -HostName 'laptop-a'
        $local = New-FlowScript "$TestDrive/local/on_laptop.cs" (Get-LinearFlowBody -Name on_laptop -Message 'ran where the file is')
        $shared = New-FlowScript "$TestDrive/shared/on_share.cs" (Get-LinearFlowBody -Name on_share -Message 'ran from the share')
        $script:localFlow = Register-Flow -Path $local -Project HostLabels -CreateProject
        $script:sharedFlow = Register-Flow -Path $shared -Project HostLabels -NoHostLabel
        $script:localRun = Start-FlowRun -Name on_laptop -Project HostLabels
        $script:sharedRun = Start-FlowRun -Name on_share -Project HostLabels
        $script:ranOnB = Receive-Agent (Start-Agent -Name 'other-machine' -HostName 'laptop-b')
        $script:afterB = Get-FlowRun -Id $localRun.Id
        $script:ranOnA = Receive-Agent (Start-Agent -Name 'same-machine' -HostName 'laptop-a')
    }

    AfterAll { Exit-Server }

    It 'carries the registering machine''s host name as a label, and none with -NoHostLabel' {
        (Get-Flow -Name on_laptop -Project HostLabels).Labels | Should -Be @('laptop-a')
        @((Get-Flow -Name on_share -Project HostLabels).Labels).Count | Should -Be 0
    }

    It 'is never claimed by an agent on another machine, which says why it waits' {
        $ranOnB | Should -Be @("$($sharedRun.Id)")
        $afterB.State | Should -Be 'Scheduled'
        $afterB.WaitReason | Should -Be 'no agent with label laptop-a has been seen in the last 5 minutes'
        (Get-FlowRun -Id $sharedRun.Id).Agent | Should -BeLike 'other-machine@*'
    }

    It 'is run by an agent on the machine that registered it' {
        $ranOnA | Should -Be @("$($localRun.Id)")
        $done = Get-FlowRun -Id $localRun.Id
        $done.State | Should -Be 'Success'
        $done.Agent | Should -BeLike 'same-machine@*'
        $done.WaitReason | Should -BeNullOrEmpty
    }
}
