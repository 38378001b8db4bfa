BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $example = (Resolve-Path "$PSScriptRoot/../../examples/flows/my_flow.cs").Path
}

AfterAll {
    Exit-TestHome
}

Describe 'Register-Flow' {
    Context 'the issue''s scenario: examples/flows/my_flow.cs into MyProject' {
        BeforeAll {
            $null = New-FlowProject -Name MyProject
            $first = Register-Flow -Path $example -Project MyProject
            $second = Register-Flow -Path $example -Project MyProject
        }

        It 'registers the flow as version 1' {
            $first | Should -HaveCount 1
            $first.Name | Should -Be 'example'
            $first.Project | Should -Be 'MyProject'
            $first.Version | Should -Be 1
            $first.Status | Should -Be 'Registered'
            $first.Id | Should -BeOfType [guid]
            $first.Id | Should -Not -Be ([guid]::Empty)
            $first.Path | Should -Be $example
            $first.StructureHash | Should -Match '^[0-9a-f]{64}$'
        }

        It 'skips an unchanged flow: same Id, still version 1, metadata unchanged' {
            $second | Should -HaveCount 1
            $second.Id | Should -Be $first.Id
            $second.Version | Should -Be 1
            $second.Status | Should -Be 'Skipped'
            $second.Reason | Should -BeLike '*metadata unchanged*'
        }

        It 'recorded exactly one version in the backend' {
            $flows = @(Get-Flow -Name example -Project MyProject -AllVersions)
            $flows | Should -HaveCount 1
            $flows[0].Id | Should -Be $first.Id
        }

        It 'does not recompile an unchanged file (the structure comes from the cache)' {
            $verbose = Register-Flow -Path $example -Project MyProject -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            ($verbose.Message -join "`n") | Should -BeLike '*unchanged since it was last compiled*'
            ($verbose.Message -join "`n") | Should -Not -BeLike '*Compiling*'
        }
    }

    Context 'paths: folders, wildcards, several paths, the pipeline' {
        BeforeAll {
            $tree = Join-Path $TestDrive 'tree'
            $null = New-FlowScript "$tree/top.cs" (Get-LinearFlowBody -Name top)
            $null = New-FlowScript "$tree/sub/deeper/nested.cs" (Get-LinearFlowBody -Name nested)
            Set-Content -LiteralPath "$tree/readme.txt" -Value 'not a flow'
            Set-Content -LiteralPath "$tree/sub/notes.md" -Value 'not a flow either'
            $null = New-FlowProject -Name Folder, Wild, Several, Piped
        }

        It 'takes a folder and registers every *.cs below it, recursively' {
            $result = Register-Flow -Path $tree -Project Folder
            $result.Name | Sort-Object | Should -Be @('nested', 'top')
            $result.Status | Should -Be @('Registered', 'Registered')
            @(Get-Flow -Project Folder).Name | Sort-Object | Should -Be @('nested', 'top')
        }

        It 'expands wildcards' {
            $result = Register-Flow -Path (Join-Path $tree 't*.cs') -Project Wild
            $result.Name | Should -Be 'top'
            $result.Status | Should -Be 'Registered'
        }

        It 'takes several paths at once' {
            $result = Register-Flow -Path "$tree/top.cs", "$tree/sub/deeper/nested.cs" -Project Several
            $result.Name | Sort-Object | Should -Be @('nested', 'top')
            $result.Path | Sort-Object | Should -Be @((Join-Path $tree 'sub/deeper/nested.cs'), (Join-Path $tree 'top.cs'))
        }

        It 'binds files from Get-ChildItem on the pipeline' {
            $result = Get-ChildItem $tree -Filter *.cs -Recurse | Register-Flow -Project Piped
            $result.Name | Sort-Object | Should -Be @('nested', 'top')
            $result.Project | Should -Be @('Piped', 'Piped')
        }

        It 'reports a path that matches nothing as ScriptNotFound' {
            { Register-Flow -Path (Join-Path $TestDrive 'no/such/flow.cs') -Project Folder -ErrorAction Stop } |
                Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.RegisterFlowCommand'
        }

        It '** matches any depth of folders, *.cs only' {
            $null = New-FlowProject -Name Deep
            $result = Register-Flow -Path "$tree/**/*.cs" -Project Deep
            $result.Name | Sort-Object | Should -Be @('nested', 'top')
            $result.Status | Should -Be @('Registered', 'Registered')
            $below = Register-Flow -Path "$tree/sub/**/*.cs" -Project Deep
            $below.Name | Should -Be 'nested'
        }

        It 'a pattern that matches nothing is ScriptNotFound naming it, with or without **' {
            foreach ($pattern in "$tree/zzz*.cs", "$tree/**/zzz*.cs", "$TestDrive/nowhere/**/*.cs") {
                $err = { Register-Flow -Path $pattern -Project Folder -ErrorAction Stop } |
                    Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
                $err.Exception.Message | Should -BeLike "*'$pattern'*"
            }
        }

        It 'an empty folder, or one without .cs files, is ScriptNotFound' {
            $empty = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'empty') -Force
            $err = { Register-Flow -Path $empty.FullName -Project Folder -ErrorAction Stop } |
                Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'$($empty.FullName)' holds no flow script*"
        }

        It 'a pattern matching only other files says none is a .cs file' {
            $err = { Register-Flow -Path "$tree/*.txt" -Project Folder -ErrorAction Stop } |
                Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*1 file(s), none a .cs file*'
        }

        It 'a file that is not a .cs file is refused as NotAFlowScript, not compiled' {
            $err = { Register-Flow -Path "$tree/readme.txt" -Project Folder -ErrorAction Stop } |
                Should -Throw -ErrorId 'NotAFlowScript,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'$tree/readme.txt' is not a flow script*.cs*"
            $err.Exception.Message | Should -Not -BeLike '*error CS*'
        }
    }

    Context 'a fresh compile cache (a new CI agent): one request for all files' {
        BeforeAll {
            $batch = Join-Path $TestDrive 'batch'
            foreach ($name in 'one', 'two', 'three') {
                $null = New-FlowScript "$batch/$name/$name.cs" (Get-LinearFlowBody -Name $name)
            }
            $null = New-FlowProject -Name Batch
            $null = Register-Flow -Path $batch -Project Batch
            Remove-Item -LiteralPath (Join-Path $env:FLOWSTORE_HOME 'cache') -Recurse -Force
        }

        It 'asks the backend about every file of a folder in one request and compiles none of the unchanged ones' {
            $output = Register-Flow -Path $batch -Project Batch -Verbose 4>&1
            $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
            $results = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            @($verbose | Where-Object { $_ -like '*in one request*' }) | Should -HaveCount 1
            @($verbose | Where-Object { $_ -like '*about 3 file(s) in one request: 3 registered unchanged*' }) | Should -HaveCount 1
            $verbose | Where-Object { $_ -like 'Compiling*' } | Should -BeNullOrEmpty
            $results.Name | Sort-Object | Should -Be @('one', 'three', 'two')
            $results.Status | Should -Be @('Skipped', 'Skipped', 'Skipped')
        }
    }

    Context '-Name' {
        BeforeAll {
            $two = New-FlowScript "$TestDrive/two.cs" ((Get-LinearFlowBody -Name alpha -Variable a) + (Get-LinearFlowBody -Name beta -Variable b))
            $null = New-FlowProject -Name Names
        }

        It 'registers only the named flows' {
            $result = Register-Flow -Path $two -Project Names -Name beta
            $result.Name | Should -Be 'beta'
            @(Get-Flow -Project Names).Name | Should -Be 'beta'
        }

        It 'fails with FlowNotFoundInScript naming the flows the script has' {
            $err = { Register-Flow -Path $two -Project Names -Name gamma -ErrorAction Stop } |
                Should -Throw -ErrorId 'FlowNotFoundInScript,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'gamma'*"
            $err.Exception.Message | Should -BeLike '*found: alpha, beta*'
        }
    }

    Context 'versions: -Label, -Force, a changed structure' {
        BeforeAll {
            $file = New-FlowScript "$TestDrive/versions.cs" (Get-LinearFlowBody -Name versioned)
            $null = New-FlowProject -Name Versions
            $v1 = Register-Flow -Path $file -Project Versions
        }

        It 'a new label changes the registration key: version 2' {
            $v2 = Register-Flow -Path $file -Project Versions -Label prod
            $v2.Status | Should -Be 'Registered'
            $v2.Version | Should -Be 2
            $v2.Id | Should -Not -Be $v1.Id
            $v2.Reason | Should -BeLike '*labels changed*'
            (Get-Flow -Name versioned -Project Versions).Labels | Should -Be 'prod'
            (Register-Flow -Path $file -Project Versions -Label prod).Status | Should -Be 'Skipped'
        }

        It '-Force registers a new version of an unchanged flow' {
            $before = (Get-Flow -Name versioned -Project Versions).Version
            $forced = Register-Flow -Path $file -Project Versions -Label prod -Force
            $forced.Status | Should -Be 'Registered'
            $forced.Version | Should -Be ($before + 1)
        }

        It 'a structure change gives a new version with the diff, and archives the older versions' {
            $before = Get-Flow -Name versioned -Project Versions
            $null = New-FlowScript $file (Get-LinearFlowBody -Name versioned -Task get_data, transform, print_data)
            $changed = Register-Flow -Path $file -Project Versions -Label prod
            $changed.Status | Should -Be 'Registered'
            $changed.Version | Should -Be ($before.Version + 1)
            $changed.TasksAdded | Should -Be 'transform'
            $changed.TasksRemoved | Should -BeNullOrEmpty
            $changed.Reason | Should -BeLike '*structure changed*'
            $all = Get-Flow -Name versioned -Project Versions -AllVersions
            $all | Where-Object Version -NE $changed.Version | ForEach-Object { $_.Archived | Should -BeTrue }
            ($all | Where-Object Version -EQ $changed.Version).Archived | Should -BeFalse
        }
    }

    Context '-Storage from the pipeline' {
        It 'New-FlowStorage -Type Local | Register-Flow freezes the flow: the compiled assembly goes to $FLOWSTORE_HOME/flows' {
            $file = New-FlowScript "$TestDrive/frozen.cs" (Get-LinearFlowBody -Name frozen)
            $null = New-FlowProject -Name Storage
            $flowsDir = Join-Path $env:FLOWSTORE_HOME 'flows'
            $result = New-FlowStorage -Type Local | Register-Flow -Path $file -Project Storage
            $result.Status | Should -Be 'Registered'
            $result.Storage | Should -BeLike 'Local frozen*'
            $dll = @(Get-ChildItem $flowsDir -Recurse -Filter *.dll)
            $dll | Should -HaveCount 1
            $result.Storage | Should -BeLike "*$($dll[0].FullName)*"
        }

        It 'overrides the storage the script sets' {
            $body = (Get-LinearFlowBody -Name scripted) + "flow.Storage = new LocalStorage(storedAsScript: false);`n"
            $file = New-FlowScript "$TestDrive/scripted.cs" $body
            $null = New-FlowProject -Name Override
            $result = New-FlowStorage -Type Local -StoredAsScript | Register-Flow -Path $file -Project Override
            $result.Storage | Should -Be "Local script $file"
        }
    }

    Context '-WhatIf' {
        BeforeAll {
            $file = New-FlowScript "$TestDrive/whatif.cs" (Get-LinearFlowBody -Name whatif)
            $null = New-FlowProject -Name WhatIf
        }

        It 'writes nothing and outputs nothing for a new flow' {
            $result = Register-Flow -Path $file -Project WhatIf -WhatIf
            $result | Should -BeNullOrEmpty
            Get-Flow -Project WhatIf | Should -BeNullOrEmpty
        }

        It 'says what would be registered and why' {
            $transcript = Join-Path $TestDrive 'whatif.txt'
            $null = Start-Transcript -LiteralPath $transcript
            try {
                $null = Register-Flow -Path $file -Project WhatIf -WhatIf
            }
            finally {
                $null = Stop-Transcript
            }
            $text = Get-Content -LiteralPath $transcript -Raw
            $text | Should -BeLike "*What if:*Register version 1 (new flow)*flow 'whatif'*"
        }

        It 'keeps the registered version when the structure changed' {
            $v1 = Register-Flow -Path $file -Project WhatIf
            $null = New-FlowScript $file (Get-LinearFlowBody -Name whatif -Task get_data, added_task, print_data)
            Register-Flow -Path $file -Project WhatIf -WhatIf | Should -BeNullOrEmpty
            $flows = @(Get-Flow -Project WhatIf -AllVersions)
            $flows | Should -HaveCount 1
            $flows[0].Id | Should -Be $v1.Id
        }

        It 'with -CreateProject neither creates the project nor fails' {
            { Register-Flow -Path $file -Project NotYet -CreateProject -WhatIf -ErrorAction Stop } | Should -Not -Throw
            Get-FlowProject | Where-Object Name -EQ NotYet | Should -BeNullOrEmpty
        }
    }

    Context 'projects' {
        It 'fails with ProjectNotFound naming a missing project' {
            $err = { Register-Flow -Path $example -Project NoSuchProject } | Should -Throw -ErrorId 'ProjectNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'NoSuchProject'*"
            $err.ErrorDetails.RecommendedAction | Should -BeLike '*-CreateProject*'
            $err.TargetObject | Should -Be 'NoSuchProject'
        }

        It '-CreateProject creates the missing project and registers into it' {
            $result = Register-Flow -Path $example -Project Created -CreateProject
            $result.Status | Should -Be 'Registered'
            $result.Project | Should -Be 'Created'
            (Get-FlowProject -Name Created).FlowCount | Should -Be 1
        }
    }

    Context 'scripts that cannot be registered' {
        BeforeAll {
            $null = New-FlowProject -Name Broken
        }

        It 'a compile error: ScriptCompilationFailed with file:line:column' {
            $file = New-FlowScript "$TestDrive/compile_error.cs" "var flow = new Flow(`"broken`")`nflow.Task(`"a`", () => 1);`n"
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'ScriptCompilationFailed,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -Match ([regex]::Escape($file) + ':\d+:\d+')
            $err.TargetObject | Should -Be $file
        }

        It 'a file with no flows: NoFlowsFound' {
            $file = New-FlowScript "$TestDrive/empty.cs" "_ = 42; // builds no flow`n"
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'NoFlowsFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$file*"
        }

        It 'two flows with one name: DuplicateFlowName' {
            $file = New-FlowScript "$TestDrive/dupflow.cs" ((Get-LinearFlowBody -Name twice -Variable a) + (Get-LinearFlowBody -Name twice -Variable b))
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'DuplicateFlowName,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'twice'*"
        }

        It 'a cycle: FlowCycle' {
            $body = @'
var flow = new Flow("cyclic");
var a = flow.Task("a", () => 1);
var b = flow.Task("b", (int x) => x + 1, a);
a.After(b);
'@
            $file = New-FlowScript "$TestDrive/cycle.cs" $body
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'FlowCycle,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'cyclic'*"
        }

        It 'two tasks with one name: DuplicateTaskName' {
            $body = @'
var flow = new Flow("duptask");
flow.Task("same", () => 1);
flow.Task("same", () => 2);
'@
            $file = New-FlowScript "$TestDrive/duptask.cs" $body
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'DuplicateTaskName,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'same'*"
        }

        It 'two parameters with one name: DuplicateParameterName' {
            $body = @'
var flow = new Flow("dupparam");
var a = flow.Parameter("limit", 1);
var b = flow.Parameter("limit", 2);
flow.Task("use", (int x, int y) => x + y, a, b);
'@
            $file = New-FlowScript "$TestDrive/dupparam.cs" $body
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'DuplicateParameterName,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'limit'*"
        }

        It 'an invalid task option: InvalidTaskOption' {
            $body = @'
var flow = new Flow("badoption");
flow.Task("retry", () => 1, new TaskOptions { Retries = -1 });
'@
            $file = New-FlowScript "$TestDrive/badoption.cs" $body
            $err = { Register-Flow -Path $file -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTaskOption,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'retry'*Retries*"
        }

        It 'a missing file: ScriptNotFound' {
            { Register-Flow -Path "$TestDrive/missing.cs" -Project Broken -ErrorAction Stop } | Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.RegisterFlowCommand'
        }

        It 'one bad file does not stop the others: an error names it and $? is false' {
            $good1 = New-FlowScript "$TestDrive/mixed/good1.cs" (Get-LinearFlowBody -Name good1)
            $bad = New-FlowScript "$TestDrive/mixed/bad.cs" "var flow = new Flow(`"bad`");`nflow.Task(`"a`", () => undefinedSymbol);`n"
            $good2 = New-FlowScript "$TestDrive/mixed/good2.cs" (Get-LinearFlowBody -Name good2)
            $null = New-FlowProject -Name Mixed

            $result = Register-Flow -Path $good1, $bad, $good2 -Project Mixed -ErrorVariable ev -ErrorAction SilentlyContinue
            $succeeded = $?

            $succeeded | Should -BeFalse
            @($result | Where-Object Status -EQ 'Registered').Name | Sort-Object | Should -Be @('good1', 'good2')
            $failed = @($result | Where-Object Status -EQ 'Failed')
            $failed | Should -HaveCount 1
            $failed[0].Path | Should -Be $bad
            $failed[0].Error | Should -BeLike '*undefinedSymbol*'
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -BeLike 'ScriptCompilationFailed,*'
            $ev[0].TargetObject | Should -Be $bad
            $ev[0].Exception.Message | Should -BeLike "*$bad*"
            @(Get-Flow -Project Mixed).Name | Sort-Object | Should -Be @('good1', 'good2')
        }
    }

    Context 'argument completion' {
        It 'completes -Project with the projects of $FLOWSTORE_HOME' {
            $null = New-FlowProject -Name MyCompletedProject
            $line = 'Register-Flow -Project MyC'
            $result = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $result.CompletionMatches.CompletionText | Should -Be 'MyCompletedProject'
            $result.CompletionMatches[0].ResultType | Should -Be 'ParameterValue'
        }

        It 'quotes a project name with a space' {
            $null = New-FlowProject -Name 'My Spaced Project'
            $line = 'Register-Flow -Project My'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText |
                Should -Contain "'My Spaced Project'"
        }

        It 'returns nothing from an empty home, does not throw, and creates nothing' {
            $emptyHome = Enter-TestHome
            try {
                $line = 'Register-Flow -Project My'
                { $script:result = TabExpansion2 -inputScript $line -cursorColumn $line.Length } | Should -Not -Throw
                $script:result.CompletionMatches | Should -BeNullOrEmpty
                $emptyHome | Should -Not -Exist
            }
            finally {
                Exit-TestHome
            }
        }
    }

    Context 'concurrency' {
        It '8 concurrent Register-Flow processes on one changed flow give contiguous versions, no duplicate' {
            $file = New-FlowScript "$TestDrive/concurrent.cs" (Get-LinearFlowBody -Name concurrent)
            $null = New-FlowProject -Name Concurrent
            $v1 = Register-Flow -Path $file -Project Concurrent
            $v1.Version | Should -Be 1
            $null = New-FlowScript $file (Get-LinearFlowBody -Name concurrent -Task get_data, step, print_data)
            # Warm the structure cache of the changed file (so the 8 processes need not compile it); -WhatIf writes nothing.
            Register-Flow -Path $file -Project Concurrent -WhatIf

            $manifest = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
            $jobs = 1..8 | ForEach-Object {
                Start-Job -ScriptBlock {
                    param($Manifest, $Home_, $File)
                    $env:FLOWSTORE_HOME = $Home_
                    Import-Module $Manifest
                    # Enums do not survive job serialisation as names: send the status as text.
                    Register-Flow -Path $File -Project Concurrent -Force |
                        Select-Object Version, Id, StructureHash, @{ Name = 'Status'; Expression = { "$($_.Status)" } }
                } -ArgumentList $manifest, $env:FLOWSTORE_HOME, $file
            }
            try {
                $null = $jobs | Wait-Job -Timeout 150
                $jobs.State | Should -Not -Contain 'Running'
                $results = @($jobs | Receive-Job -ErrorVariable jobErrors -ErrorAction SilentlyContinue)
            }
            finally {
                $jobs | Remove-Job -Force
            }

            $jobErrors | Should -BeNullOrEmpty
            $results | Should -HaveCount 8
            $results.Status | Sort-Object -Unique | Should -Be 'Registered'
            $results.Version | Sort-Object | Should -Be (2..9)
            $results.StructureHash | Sort-Object -Unique | Should -Be (Test-FlowScript $file).StructureHash -Because 'the structure hash is the same in every process'
            $versions = @(Get-Flow -Name concurrent -Project Concurrent -AllVersions).Version | Sort-Object
            $versions | Should -Be (1..9)
            @(Get-Flow -Name concurrent -Project Concurrent).Version | Should -Be 9
        }
    }
}
