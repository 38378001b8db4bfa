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

Describe 'Test-FlowScript' {
    Context 'the example flow' {
        BeforeAll {
            $description = Test-FlowScript -Path $example
        }

        It 'describes the flow: name, tasks, edges, parameters, structure hash' {
            $description | Should -HaveCount 1
            $description.PSObject.TypeNames | Should -Contain 'Flowstore.Engine.FlowDescription'
            $description.Name | Should -Be 'example'
            $description.Path | Should -Be $example
            $description.Tasks | Should -Be @('get_data', 'print_data')
            $description.Edges | Should -Be 'get-data -> print-data.values'
            $description.Parameters | Should -BeNullOrEmpty
            $description.StructureHash | Should -Match '^[0-9a-f]{64}$'
            $description.ScriptSha256 | Should -Match '^[0-9a-f]{64}$'
        }

        It 'writes nothing to the backend (does not even create the database)' {
            Join-Path $env:FLOWSTORE_HOME 'flowstore.db' | Should -Not -Exist
            Get-FlowProject | Should -BeNullOrEmpty
            Get-Flow | Should -BeNullOrEmpty
        }

        It 'gives the structure hash Register-Flow records' {
            $registration = Register-Flow -Path $example -Project Hashes -CreateProject
            $registration.StructureHash | Should -Be $description.StructureHash
        }
    }

    Context 'parameters, several flows, -Name' {
        BeforeAll {
            $body = @'
var report = new Flow("report");
var count = report.Parameter("count", 3);
var who = report.Parameter<string>("who");
report.Task("greet", (int c, string w) => Console.WriteLine($"{c} {w}"), count, who);

var cleanup = new Flow("cleanup");
var first = cleanup.Task("first", () => { });
cleanup.Task("second", () => { }).After(first);
'@
            $file = New-FlowScript "$TestDrive/two_flows.cs" $body
        }

        It 'describes every flow of a file, with parameters and ordering-only edges' {
            $flows = Test-FlowScript $file
            $flows.Name | Should -Be @('report', 'cleanup')
            $flows[0].Parameters | Should -Be @('count (int) = 3', 'who (string, required)')
            $flows[0].Edges | Should -Contain 'parameter count -> greet.c'
            $flows[1].Tasks | Should -Be @('first', 'second')
            $flows[1].Edges | Should -HaveCount 1
            $flows[1].Edges[0] | Should -BeLike 'first -> second*'
        }

        It '-Name selects flows' {
            (Test-FlowScript $file -Name cleanup).Name | Should -Be 'cleanup'
        }

        It 'an unknown -Name is FlowNotFoundInScript, naming the flows found' {
            $err = { Test-FlowScript $file -Name nope -ErrorAction Stop } |
                Should -Throw -ErrorId 'FlowNotFoundInScript,Flowstore.Commands.TestFlowScriptCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*found: report, cleanup*'
        }
    }

    Context 'the structure hash' {
        It 'ignores task bodies and changes with the structure' {
            $a = New-FlowScript "$TestDrive/hash_a.cs" (Get-LinearFlowBody -Name h -Message 'one')
            $b = New-FlowScript "$TestDrive/hash_b.cs" (Get-LinearFlowBody -Name h -Message 'two')
            $c = New-FlowScript "$TestDrive/hash_c.cs" (Get-LinearFlowBody -Name h -Task get_data, more, print_data)
            $ha, $hb, $hc = (Test-FlowScript $a, $b, $c).StructureHash
            $hb | Should -Be $ha
            $hc | Should -Not -Be $ha
        }
    }

    Context 'paths and errors' {
        It 'takes files from the pipeline and folders' {
            $dir = Join-Path $TestDrive 'many'
            $null = New-FlowScript "$dir/x.cs" (Get-LinearFlowBody -Name x)
            $null = New-FlowScript "$dir/deep/y.cs" (Get-LinearFlowBody -Name y)
            (Get-ChildItem $dir -Filter *.cs -Recurse | Test-FlowScript).Name | Sort-Object | Should -Be @('x', 'y')
            (Test-FlowScript $dir).Name | Sort-Object | Should -Be @('x', 'y')
        }

        It 'reads right for one task, and its Storage property is the storage its view shows' {
            $file = New-FlowScript "$TestDrive/one.cs" 'var flow = new Flow("one"); flow.Task("only", () => 1);'
            $d = Test-FlowScript -Path $file
            "$($d.Structure)" | Should -BeLike '1 task, 0 edges, 0 parameters (*'
            ($d | Format-List * | Out-String -Width 300) | Should -Not -Match '\b1 tasks\b'
            $d.Storage.PSObject.TypeNames[0] | Should -Be 'Flowstore.LocalStorage'
            $d.Storage.StoredAsScript | Should -BeTrue
            $d.Storage.Path | Should -Be $file
            $view = $d | Out-String -Width 300
            $view | Should -Match "Storage\s+: $([regex]::Escape($d.Storage.ToString()))"
            $view | Should -Match "Storage\s+: Local script $([regex]::Escape($file))"
        }

        It 'a compile error is ScriptCompilationFailed with file:line:column' {
            $file = New-FlowScript "$TestDrive/broken.cs" "var flow = new Flow(`"b`");`nflow.Task(`"t`", () => missing);`n"
            $err = { Test-FlowScript $file -ErrorAction Stop } |
                Should -Throw -ErrorId 'ScriptCompilationFailed,Flowstore.Commands.TestFlowScriptCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*${file}:3:22: error CS0103*" -Because 'the position is line 3 (after the using line), column 22'
        }

        It 'a missing file is ScriptNotFound' {
            { Test-FlowScript "$TestDrive/none.cs" -ErrorAction Stop } |
                Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.TestFlowScriptCommand'
        }

        It 'a pattern that matches nothing, or an empty folder, is ScriptNotFound naming it' {
            $empty = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'nothing-here') -Force
            foreach ($path in "$TestDrive/zzz*.cs", "$TestDrive/**/zzz*.cs", $empty.FullName) {
                $err = { Test-FlowScript $path -ErrorAction Stop } |
                    Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.TestFlowScriptCommand' -PassThru
                $err.Exception.Message | Should -BeLike "*'$path'*"
            }
        }

        It '** finds scripts at any depth' {
            $null = New-FlowScript "$TestDrive/globbed/a/b/c/deep.cs" (Get-LinearFlowBody -Name deep)
            (Test-FlowScript "$TestDrive/globbed/**/*.cs").Name | Should -Be 'deep'
        }

        It 'a README is refused as NotAFlowScript instead of hundreds of compiler errors' {
            $readme = Join-Path $TestDrive 'README.md'
            Set-Content -LiteralPath $readme -Value "# Flows`n`nSee *.cs; nothing here compiles."
            $err = { Test-FlowScript -Path $readme -ErrorAction Stop } |
                Should -Throw -ErrorId 'NotAFlowScript,Flowstore.Commands.TestFlowScriptCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'$readme' is not a flow script*"
            $err.Exception.Message | Should -Not -BeLike '*error CS*'
        }

        It 'a bad file does not stop the others' {
            $good = New-FlowScript "$TestDrive/good.cs" (Get-LinearFlowBody -Name good)
            $result = Test-FlowScript "$TestDrive/none.cs", $good -ErrorAction SilentlyContinue -ErrorVariable ev
            $result.Name | Should -Be 'good'
            $ev | Should -HaveCount 1
        }
    }
}
