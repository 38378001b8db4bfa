# Git storage end to end, against the smart-HTTP server of tests/servers/Start-Git.ps1 (git http-backend with HTTP
# Basic authentication): the getting-started walk-through with the flow kept in a Git repository, Publish-FlowScript into
# the pipeline, -Pinned re-runs of an earlier commit, the errors a user meets, and the token as a canary that must
# never show anywhere.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    Assert-TestServer -Variable 'FLOWSTORE_TEST_GIT_URL', 'FLOWSTORE_TEST_GIT_ROOT', 'FLOWSTORE_TEST_GIT_TOKEN' -StartScript 'Start-Git.ps1'
    $script:ServerUrl = $env:FLOWSTORE_TEST_GIT_URL.TrimEnd('/')
    $script:Token = $env:FLOWSTORE_TEST_GIT_TOKEN
    $env:FLOWSTORE_TEST_GIT_TOKEN | Set-FlowSecret -Name GIT_TOKEN

    function New-ServerRepository {
        <#
        A New-TestRepository on the test server (default branch "trunk", deliberately not master), with the Url
        the server serves it at.
        #>
        $repository = New-TestRepository -Root $env:FLOWSTORE_TEST_GIT_ROOT -DefaultBranch trunk
        $repository | Add-Member -NotePropertyName Url -NotePropertyValue "$script:ServerUrl/$($repository.Name).git" -PassThru
    }

    function Split-RunOutput {
        <# Splits `cmd 6>&1` output into the run object(s) and the information-stream text. #>
        param([object[]]$Output)
        [pscustomobject]@{
            Run  = @($Output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
            Text = @($Output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
        }
    }

    # The getting-started example with Git storage set in the script.
    function Get-SeedFlow {
        param([Parameter(Mandatory)][string]$Url, [string]$Print = 'string.Join(", ", values)', [switch]$WithSum)
        $sum = if ($WithSum) { "var total = flow.Task(`"sum_data`", (int[] values) => values.Sum(), data);`n" } else { '' }
        @"
using Flowstore;

var flow = new Flow("example");
var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
$sum
flow.Task("print_data", (int[] values) => Console.WriteLine($Print), data);

flow.Storage = new GitStorage(
    url: "$Url",                  // the repository
    path: "flows/my_flow.cs",     // location of the flow file in the repo
    tokenSecret: "GIT_TOKEN");    // name of the secret holding a token
"@
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'Git storage: the getting-started walk-through' {
    BeforeAll {
        $repo = New-ServerRepository
        $script:FirstCommit = Push-TestFile $repo 'flows/my_flow.cs' (Get-SeedFlow -Url $repo.Url) -Message 'Add the flow'
        $null = New-FlowProject -Name MyProject
        Push-Location $repo.Work
    }

    AfterAll {
        Pop-Location
    }

    It '1. Register-Flow -Path flows/my_flow.cs -Project MyProject records version 1 with the Git storage' {
        $registration = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 1
        $registration.Storage | Should -Be "Git $($repo.Url) flows/my_flow.cs (the default branch)"
        $stored = (Get-Flow -Name example -Project MyProject).Storage
        $stored.PSObject.TypeNames[0] | Should -Be 'Flowstore.GitStorage'
        $stored.type | Should -Be 'Git'
        $stored.url | Should -Be $repo.Url
        $stored.tokenSecret | Should -Be 'GIT_TOKEN'
    }

    It '2. a run fetches the committed script and records its commit' {
        $out = Split-RunOutput (Start-FlowRun -Name example -Project MyProject -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Text | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        $out.Run[0].StorageVersion | Should -Be $script:FirstCommit
        $script:FirstRun = $out.Run[0]
    }

    It '3. a changed task body, pushed, runs at once without re-registration' {
        $second = Push-TestFile $repo 'flows/my_flow.cs' (Get-SeedFlow -Url $repo.Url -Print 'string.Join(" | ", values)') -Message 'Print with bars'
        $out = Split-RunOutput (Start-FlowRun -Name example -Project MyProject -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Run[0].FlowVersion | Should -Be 1
        $out.Text | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
        $out.Run[0].StorageVersion | Should -Be $second
        (Register-Flow -Path flows/my_flow.cs -Project MyProject).Status | Should -Be 'Skipped'
    }

    It '4. Start-FlowRun -Pinned re-runs the first commit''s code, not the later one' {
        $out = Split-RunOutput (Start-FlowRun -Pinned $script:FirstRun.Id -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Text | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        $out.Text | Should -Not -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
        $out.Run[0].StorageVersion | Should -Be $script:FirstCommit
        $out.Run[0].ScriptSha256 | Should -Be $script:FirstRun.ScriptSha256
    }

    It '5. a structure change, pushed, makes the run fail with the diff' {
        $script:ThirdCommit = Push-TestFile $repo 'flows/my_flow.cs' (Get-SeedFlow -Url $repo.Url -Print 'string.Join(" | ", values)' -WithSum) -Message 'Add sum_data'
        $err = { Start-FlowRun -Name example -Project MyProject -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Register-Flow -Path*'
        "$err" | Should -BeLike '*sum_data*Register-Flow*' -Because 'the error as shown says what changed, then how to fix it'
        $err.Exception.Message | Should -BeLike "*$($repo.Url)*"
    }

    It '6. Register-Flow records version 2 and the run succeeds' {
        $v2 = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $v2.Status | Should -Be 'Registered'
        $v2.Version | Should -Be 2
        $v2.TasksAdded | Should -Be 'sum_data'
        $out = Split-RunOutput (Start-FlowRun -Name example -Project MyProject -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Run[0].FlowVersion | Should -Be 2
        $out.Run[0].StorageVersion | Should -Be $script:ThirdCommit
    }

    It '7. registering a local file whose structure differs from the committed one fails with StoredScriptMismatch' {
        $local = Join-Path $TestDrive 'uncommitted/my_flow.cs'
        $null = New-Item -ItemType Directory -Force (Split-Path $local)
        Set-Content -LiteralPath $local -Value (Get-SeedFlow -Url $repo.Url) -NoNewline   # no sum_data
        $err = { Register-Flow -Path $local -Project Mismatch -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StoredScriptMismatch,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
    }

    It '8. registering a local file that differs from the committed one only in code warns that runs use the committed one' {
        $local = Join-Path $TestDrive 'codeonly/my_flow.cs'
        $null = New-Item -ItemType Directory -Force (Split-Path $local)
        Set-Content -LiteralPath $local -Value (Get-SeedFlow -Url $repo.Url -Print '"local"' -WithSum) -NoNewline
        $registration = Register-Flow -Path $local -Project CodeOnly -CreateProject -WarningVariable warnings 3>$null
        $registration.Status | Should -Be 'Registered'
        ($warnings -join "`n") | Should -BeLike '*runs will use the stored script*'
    }
}

Describe 'Git storage from the command line' {
    BeforeAll {
        $repo = New-ServerRepository
        $null = Push-TestFile $repo 'README.md' "readme`n" -Message 'Start'
        # A flow script that names no storage: New-FlowStorage gives it.
        $file = New-FlowScript "$TestDrive/cli/pub.cs" (Get-LinearFlowBody -Name published -Message 'published v1')
        $null = New-FlowProject -Name Cli
    }

    It 'New-FlowStorage -Type Git gives the settings, with no token value' {
        $storage = New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -Branch trunk -TokenSecret GIT_TOKEN -TokenUsername ci -Depth 5
        $storage.GetType().FullName | Should -Be 'Flowstore.GitStorage'
        $storage.Url | Should -Be $repo.Url
        $storage.Path | Should -Be 'flows/pub.cs'
        $storage.Branch | Should -Be 'trunk'
        $storage.TokenSecret | Should -Be 'GIT_TOKEN'
        $storage.TokenUsername | Should -Be 'ci'
        $storage.Depth | Should -Be 5
        ($storage | Out-String) | Should -Not -BeLike "*$script:Token*"
    }

    It 'New-FlowStorage | Publish-FlowScript | Register-Flow commits, pushes and registers in one pipeline; the run uses the pushed commit' {
        $registration = New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -TokenSecret GIT_TOKEN |
            Publish-FlowScript -Path $file -Message 'Publish from CI' |
            Register-Flow -Project Cli
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 1
        $head = Invoke-Git $repo.Bare rev-parse refs/heads/trunk
        Invoke-Git $repo.Bare log -1 --format=%s $head | Should -Be 'Publish from CI'
        Invoke-Git $repo.Bare show "${head}:flows/pub.cs" | Should -Be ((Get-Content -Raw $file).TrimEnd("`n"))
        $run = Start-FlowRun -Name published -Project Cli -Wait 6>$null
        $run.State | Should -Be 'Success'
        $run.StorageVersion | Should -Be $head
    }

    It 'Publish-FlowScript outputs the storage and the new commit; publishing the same file again makes no commit' {
        $null = New-FlowScript $file (Get-LinearFlowBody -Name published -Message 'published v2')
        $storage = New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -TokenSecret GIT_TOKEN
        $publication = Publish-FlowScript -Path $file -Storage $storage
        $head = Invoke-Git $repo.Bare rev-parse refs/heads/trunk
        $publication.StorageVersion | Should -Be $head
        $publication.Storage.Url | Should -Be $repo.Url
        $again = Publish-FlowScript -Path $file -Storage $storage
        $again.StorageVersion | Should -Be $head
        Invoke-Git $repo.Bare rev-parse refs/heads/trunk | Should -Be $head
        (Split-RunOutput (Start-FlowRun -Name published -Project Cli -Wait 6>&1)).Text | Should -Contain '[print_data] published v2'
    }

    It 'Publish-FlowScript -Branch commits to that branch and the output storage follows it' {
        $storage = New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -TokenSecret GIT_TOKEN
        $publication = Publish-FlowScript -Path $file -Storage $storage -Branch release
        $publication.Storage.Branch | Should -Be 'release'
        $publication.StorageVersion | Should -Be (Invoke-Git $repo.Bare rev-parse refs/heads/release)
    }

    It '-Branch with -Tag is StorageInvalid' {
        { New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -Branch a -Tag b } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand'
    }

    It 'a path that is not in the repository is StorageNotFound naming the path' {
        $err = { New-FlowStorage -Type Git -Url $repo.Url -Path flows/missing.cs -TokenSecret GIT_TOKEN | Register-Flow -Path $file -Project Cli -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*flows/missing.cs*'
        $err.Exception.Message | Should -BeLike "*$($repo.Url)*"
    }

    It 'a missing token secret is SecretNotFound naming the secret and the storage' {
        $err = { New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -TokenSecret NO_SUCH_GIT_TOKEN | Register-Flow -Path $file -Project Cli -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'SecretNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*NO_SUCH_GIT_TOKEN*'
        $err.Exception.Message | Should -BeLike "*$($repo.Url)*"
    }
}

Describe 'Git storage: the token is a canary' {
    BeforeAll {
        $repo = New-ServerRepository
        $wrong = 'canary-' + [guid]::NewGuid().ToString('N')
        $wrong | Set-FlowSecret -Name WRONG_GIT_TOKEN
        $flowFile = Join-Path $repo.Work 'flows/my_flow.cs'
        $null = Push-TestFile $repo 'flows/my_flow.cs' (Get-SeedFlow -Url $repo.Url) -Message 'Add the flow'
        $transcript = Join-Path $TestDrive 'git-canary-transcript.txt'
    }

    It 'never appears in outputs, errors, verbose output, run logs, the transcript or any file under FLOWSTORE_HOME' {
        $secrets = @($script:Token, $wrong)
        $forms = foreach ($s in $secrets) {
            $s
            foreach ($user in 'flowstore', 'ci') { [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${user}:$s")) }
        }
        $captured = [System.Collections.Generic.List[object]]::new()
        $null = Start-Transcript -LiteralPath $transcript
        try {
            $captured.AddRange(@(New-FlowProject -Name Canary -Verbose *>&1))
            $captured.AddRange(@(Register-Flow -Path $flowFile -Project Canary -Verbose *>&1))
            $run = Start-FlowRun -Name example -Project Canary -Wait -Verbose 6>$null 4>$null
            $run.State | Should -Be 'Success'
            $captured.AddRange(@($run))
            $captured.AddRange(@(Get-FlowRunLog -Id $run.Id *>&1))
            $captured.AddRange(@(Start-FlowRun -Pinned $run.Id -Wait -Verbose *>&1))
            $captured.AddRange(@(New-FlowStorage -Type Git -Url $repo.Url -Path flows/my_flow.cs -TokenSecret GIT_TOKEN -TokenUsername ci |
                Publish-FlowScript -Path $flowFile -Message 'canary publish' -Verbose *>&1))
            # The wrong token: access denied, at registration, publish and run time.
            $bad = New-FlowStorage -Type Git -Url $repo.Url -Path flows/my_flow.cs -TokenSecret WRONG_GIT_TOKEN
            $denied = { $bad | Register-Flow -Path $flowFile -Project Canary -Force -Verbose *>&1 } |
                Should -Throw -ErrorId 'StorageAccessDenied,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $denied.Exception.Message | Should -BeLike "*$($repo.Url)*"
            $denied.Exception.Message | Should -BeLike '*WRONG_GIT_TOKEN*'
            $captured.Add($denied)
            $captured.Add(({ $bad | Publish-FlowScript -Path $flowFile -Verbose *>&1 } |
                Should -Throw -ErrorId 'StorageAccessDenied,Flowstore.Commands.PublishFlowScriptCommand' -PassThru))
        }
        finally {
            $null = Stop-Transcript
        }

        $text = ($captured | ForEach-Object { $_; ($_ | Format-List * -Force | Out-String) }) + ($Error | ForEach-Object { "$_"; $_.Exception.ToString(); ($_ | Format-List * -Force | Out-String) })
        $logs = Get-FlowRun -Project Canary | ForEach-Object { Get-FlowRunLog -Id $_.Id | Out-String }
        $all = ($text + $logs + (Get-Content -Raw -LiteralPath $transcript)) -join "`n"
        $all | Should -BeLike '*print_data*'   # the captured text is not empty
        foreach ($form in $forms) {
            $all.Contains($form) | Should -BeFalse -Because 'no output, error, log or transcript may hold the token'
        }

        $files = Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File -Force
        $files.FullName | Should -Contain (Join-Path $env:FLOWSTORE_HOME 'flowstore.db')
        @($files | Where-Object FullName -like '*cache*git*').Count | Should -BeGreaterThan 0
        foreach ($f in $files) {
            $bytes = [IO.File]::ReadAllBytes($f.FullName)
            $content = [Text.Encoding]::UTF8.GetString($bytes) + [Text.Encoding]::Unicode.GetString($bytes)
            foreach ($form in $forms) {
                $content.Contains($form) | Should -BeFalse -Because "$($f.FullName) must not hold the token"
            }
        }
    }
}
