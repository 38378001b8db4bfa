# Git storage, against the smart-HTTP server of tests/servers/Start-Git.ps1 (git http-backend with HTTP Basic
# authentication): what only Git storage does (its settings from New-FlowStorage, -Branch/-Tag), and the token as a
# canary that must never show anywhere, across registration, runs, -Pinned, publishing and the transcript. The
# getting-started walk-through, -Pinned, the stored-script checks, Publish-FlowScript into the pipeline and the errors
# every Git storage shares run for Git in Storage.GitHosts.Tests.ps1.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/GitHostStorage.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    Initialize-GitHostStorage -Storage Git
    $script:Token = $env:FLOWSTORE_TEST_GIT_TOKEN
    $gitHost = Get-GitHostStorage Git
}

AfterAll {
    Exit-TestHome
}

Describe 'Git storage from the command line' {
    BeforeAll {
        $repo = New-GitHostRepository $gitHost
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

    It '-Branch with -Tag is StorageInvalid' {
        { New-FlowStorage -Type Git -Url $repo.Url -Path flows/pub.cs -Branch a -Tag b } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand'
    }
}

Describe 'Git storage: the token is a canary' {
    BeforeAll {
        $repo = New-GitHostRepository $gitHost
        $wrong = 'canary-' + [guid]::NewGuid().ToString('N')
        $wrong | Set-FlowSecret -Name WRONG_GIT_TOKEN
        $flowFile = Join-Path $repo.Work 'flows/my_flow.cs'
        $null = Push-TestFile $repo 'flows/my_flow.cs' (Get-GitHostFlow $gitHost $repo) -Message 'Add the flow'
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
