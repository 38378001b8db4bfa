# Schedules on the embedded backend: set in the script or at registration, checked against the flow's parameters,
# paused and resumed (Set-FlowSchedule), listed with their next occurrences (Get-FlowSchedule), and run: an agent
# (Start-FlowAgent in a pwsh process of its own) creates the run of a real one-minute cron at the minute and runs it.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $null = Enter-TestHome
    $null = New-FlowProject -Name S
    $agents = [System.Collections.Generic.List[object]]::new()
}

AfterAll {
    Stop-AgentProcess $agents
    Exit-TestHome
}

Describe 'Schedules' {
    It 'a flow with a required parameter its schedule gives no value cannot be registered: the error names flow and parameter' {
        $file = New-FlowScript "$TestDrive/needs.cs" @'
var flow = new Flow("needs");
var region = flow.Parameter<string>("region");
flow.Task("print", (string r) => Console.WriteLine(r), region);
flow.Schedule = Schedule.Cron("0 6 * * *", "Europe/Zurich");
'@
        $err = { Register-Flow -Path $file -Project S -ErrorAction Stop } |
            Should -Throw -ErrorId 'ScheduleParameterMissing,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*Flow 'needs'*parameter 'region'*"
        Get-Flow -Project S | Should -BeNullOrEmpty

        $registered = Register-Flow -Path $file -Project S -Schedule '0 6 * * *' -ScheduleTimeZone Europe/Zurich -ScheduleParameters @{ region = 'ch' }
        $registered.Status | Should -Be 'Registered'
        $registered.Schedule | Should -Be "cron '0 6 * * *' in Europe/Zurich with {`"region`":`"ch`"}"
    }

    It 'an invalid cron expression given at registration is a terminating InvalidSchedule error' {
        $file = New-FlowScript "$TestDrive/plain.cs" (Get-LinearFlowBody -Name plain)
        { Register-Flow -Path $file -Project S -Schedule '61 * * * *' } |
            Should -Throw -ErrorId 'InvalidSchedule,Flowstore.Commands.RegisterFlowCommand'
    }

    It '-NoSchedule registers paused; Get-FlowSchedule shows it; Set-FlowSchedule -Active starts it; a changed schedule is a new version' {
        $file = New-FlowScript "$TestDrive/sync.cs" (Get-LinearFlowBody -Name sync)
        $registered = Register-Flow -Path $file -Project S -Schedule (New-TimeSpan -Minutes 15) -NoSchedule
        $registered.SchedulePaused | Should -BeTrue
        $schedule = Get-FlowSchedule -Name sync -Project S
        $schedule.PSObject.TypeNames | Should -Contain 'Flowstore.Engine.FlowScheduleInfo'
        $schedule.State | Should -Be 'Paused'
        $schedule.Schedule | Should -Be 'every 15m'
        $schedule.NextOccurrences | Should -BeNullOrEmpty

        Set-FlowSchedule -Name sync -Project S -Active | Should -BeNullOrEmpty
        $active = Get-FlowSchedule -Name 'sy*' -Project S -Next 3
        $active.State | Should -Be 'Active'
        $active.NextOccurrences | Should -HaveCount 3
        $active.NextOccurrences | ForEach-Object { $_.Minute % 15 | Should -Be 0 }
        ($active | Out-String -Width 80) | Should -Match 'sync\s+S\s+Active\s+\d\d-\d\d \d\d:\d\d:\d\d\s+every 15m'

        $again = Register-Flow -Path $file -Project S -Schedule '*/5 * * * *'
        $again.Version | Should -Be 2
        $again.Reason | Should -Be "schedule changed: every 15m -> cron '*/5 * * * *'"
        (Set-FlowSchedule -Name sync -Project S -Paused -PassThru).State | Should -Be 'Paused'
        { Set-FlowSchedule -Name plain-nothing -Project S -Paused -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.SetFlowScheduleCommand'
    }

    It 'Start-FlowAgent creates the run of a one-minute cron at the minute and runs it, once' {
        $marker = Join-Path $TestDrive 'ticks.txt'
        $file = New-FlowScript "$TestDrive/tick.cs" @"
var flow = new Flow("tick");
var who = flow.Parameter("who", "nobody");
flow.Task("tick", (string w) => File.AppendAllText(@"$marker", w + "\n"), who);
flow.Schedule = Schedule.Cron("* * * * *", parameters: new { who = "scheduler" });
"@
        $null = Register-Flow -Path $file -Project S
        $next = (Get-FlowSchedule -Name tick -Project S).Next
        $agent = Start-AgentProcess -Arguments '-Name clock' -LogFolder "$TestDrive/agents"
        $agents.Add($agent)

        # The first occurrence is at most a minute away; the agent creates its run then and runs it.
        Wait-Until { Test-Path -LiteralPath $marker } -Because 'the scheduled run wrote its marker' -TimeoutSeconds 240 -Process $agent
        Get-Content -LiteralPath $marker | Should -Be 'scheduler'
        Wait-Until { @(Get-FlowRun -Project S -Name tick | Where-Object State -EQ 'Success').Count -ge 1 } -Because 'the run is recorded Success' -TimeoutSeconds 120 -Process $agent
        $schedule = Get-FlowSchedule -Name tick -Project S
        $schedule.LastOccurrence | Should -BeGreaterOrEqual $next
        $runs = @(Get-FlowRun -Project S -Name tick)
        $runs.Id | Should -Contain $schedule.LastRunId
        $runs[-1].Created | Should -BeGreaterOrEqual $next -Because 'no run is created before its occurrence'
        # One run per minute that passed since the first occurrence, never two for one minute.
        $minutes = [math]::Floor(([DateTimeOffset]::UtcNow - $next).TotalMinutes) + 1
        $runs.Count | Should -BeLessOrEqual $minutes
    }
}
