# The cmdlets composed the way the design and the issue use them: storage -> register -> run, and Prefect's
# story of a flow whose task code changes freely while a change of structure needs Register-Flow again.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $example = (Resolve-Path "$PSScriptRoot/../../examples/flows/my_flow.cs").Path

    function Get-HostText {
        <# The information-stream text of `cmd 6>&1` output. #>
        param([object[]]$Output)
        @($Output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
    }

    function Get-Run {
        param([object[]]$Output)
        @($Output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'Workflow: storage | register | run' {
    BeforeAll {
        $file = New-FlowScript "$TestDrive/pipeline/report.cs" (Get-LinearFlowBody -Name report -Message 'report ran')
    }

    It 'New-FlowStorage | Register-Flow -CreateProject | Start-FlowRun -Wait' {
        $output = New-FlowStorage -Type Local -StoredAsScript |
            Register-Flow -Path $file -Project Pipeline -CreateProject |
            Start-FlowRun -Wait 6>&1
        $run = Get-Run $output
        $run | Should -HaveCount 1
        $run[0].State | Should -Be 'Success'
        $run[0].Project | Should -Be 'Pipeline'
        $run[0].FlowVersion | Should -Be 1
        Get-HostText $output | Should -Contain '[print_data] report ran'
        (Get-FlowProject -Name Pipeline).FlowCount | Should -Be 1
        (Get-Flow -Name report -Project Pipeline).Storage.StoredAsScript | Should -BeTrue
    }

    It 'Get-Flow -Name x -Project P | Start-FlowRun -Wait' {
        $output = Get-Flow -Name report -Project Pipeline | Start-FlowRun -Wait 6>&1
        (Get-Run $output).State | Should -Be 'Success'
        Get-HostText $output | Should -Contain '[print_data] report ran'
    }

    It 'Test-FlowScript before, Register-Flow, then Get-Flow agree on the structure hash' {
        $hash = (Test-FlowScript $file).StructureHash
        (Register-Flow -Path $file -Project Pipeline).StructureHash | Should -Be $hash
        (Get-Flow -Name report -Project Pipeline).StructureHash | Should -Be $hash
    }

    It 'Get-Flow | Unregister-Flow -Force, then the run is refused, then Register-Flow brings it back' {
        Get-Flow -Project Pipeline | Unregister-Flow -Force
        { Start-FlowRun -Name report -Project Pipeline -Wait -ErrorAction Stop } |
            Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.StartFlowRunCommand'
        $back = Register-Flow -Path $file -Project Pipeline
        $back.Status | Should -Be 'Registered'
        (Start-FlowRun -Name report -Project Pipeline -Wait 6>$null).State | Should -Be 'Success'
    }
}

Describe 'Workflow: the example flow, from registration through a structure change' {
    BeforeAll {
        # A copy of the repository's example, so that it can be edited.
        $flowFile = Join-Path $TestDrive 'flows/my_flow.cs'
        $null = New-Item -ItemType Directory -Force (Split-Path $flowFile)
        Copy-Item -LiteralPath $example -Destination $flowFile
        $source = Get-Content -LiteralPath $flowFile -Raw
        $null = New-FlowProject -Name MyProject
    }

    It '1. registers the example: version 1' {
        $registration = Register-Flow -Path $flowFile -Project MyProject
        $registration.Name | Should -Be 'example'
        $registration.Version | Should -Be 1
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -Be "Local script $flowFile"
    }

    It '2. runs it: print_data prints the data of get_data' {
        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        (Get-Run $output).State | Should -Be 'Success'
        Get-HostText $output | Should -Contain '[print_data] 1, 2, 3, 4, 5'
    }

    It '3. a changed task body runs at once, and Register-Flow skips it (structure unchanged)' {
        $edited = $source.Replace('string.Join(", ", values)', 'string.Join(" | ", values)')
        $edited | Should -Not -Be $source
        Set-Content -LiteralPath $flowFile -Value $edited -NoNewline
        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        Get-HostText $output | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
        $again = Register-Flow -Path $flowFile -Project MyProject
        $again.Status | Should -Be 'Skipped'
        $again.Version | Should -Be 1
    }

    It '4. a new task makes the run fail with StructureChanged, naming the task and Register-Flow' {
        $withTask = (Get-Content -LiteralPath $flowFile -Raw).Replace(
            'flow.Task("print_data"',
            "var total = flow.Task(`"sum_data`", (int[] values) => values.Sum(), data);`nflow.Task(`"print_data`"")
        $withTask | Should -BeLike '*sum_data*'
        Set-Content -LiteralPath $flowFile -Value $withTask -NoNewline
        $err = { Start-FlowRun -Name example -Project MyProject -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Register-Flow -Path*'
        "$err" | Should -BeLike '*sum_data*Register-Flow*' -Because 'the error as shown says what changed, then how to fix it'
    }

    It '5. Register-Flow records version 2 with the diff' {
        $v2 = Register-Flow -Path $flowFile -Project MyProject
        $v2.Status | Should -Be 'Registered'
        $v2.Version | Should -Be 2
        $v2.TasksAdded | Should -Be 'sum_data'
        $v2.TasksRemoved | Should -BeNullOrEmpty
    }

    It '6. the run succeeds on version 2 and runs the new task' {
        $run = Get-Run (Start-FlowRun -Name example -Project MyProject -Wait 6>&1)
        $run.State | Should -Be 'Success'
        $run.FlowVersion | Should -Be 2
        # A recorded run keeps task states, not task results (Invoke-Flow returns those).
        ($run.Tasks | Where-Object Name -EQ 'sum_data').State | Should -Be 'Success'
    }

    It '7. the history keeps version 1, archived' {
        $versions = @(Get-Flow -Name example -Project MyProject -AllVersions)
        $versions.Version | Should -Be @(2, 1)
        $versions.Archived | Should -Be @($false, $true)
    }
}

Describe 'Workflow: frozen Local storage keeps running the registered code' {
    It 'New-FlowStorage -Type Local | Register-Flow; a later edit does not change what runs until it is registered again' {
        $file = New-FlowScript "$TestDrive/frozen.cs" (Get-LinearFlowBody -Name frozen -Message 'registered code')
        $null = New-FlowStorage -Type Local | Register-Flow -Path $file -Project Frozen -CreateProject
        $null = New-FlowScript $file (Get-LinearFlowBody -Name frozen -Message 'edited code')

        Get-HostText (Start-FlowRun -Name frozen -Project Frozen -Wait 6>&1) | Should -Contain '[print_data] registered code'

        # Registering the edited file again stores a new build (a new version, though the structure is unchanged).
        $forced = New-FlowStorage -Type Local | Register-Flow -Path $file -Project Frozen
        $forced.Status | Should -Be 'Registered' -Because 'the frozen copy is named by the script''s content, so the storage locator changed'
        Get-HostText (Start-FlowRun -Name frozen -Project Frozen -Wait 6>&1) | Should -Contain '[print_data] edited code'
    }
}
