# The canary test of the secrets issue, against the server: the real server process (Start-FlowServer, API keys
# required) over PostgreSQL (tests/servers/Start-Postgres.ps1), and four Flowstore homes with no shared files: an admin
# (Connect-FlowServer) sets the secrets and makes the keys, "CI" (Registrar key, environment variables only) registers
# and queues runs, an agent (Agent key) executes them, "ops" (Reader key) looks at them. The tasks print the value and
# throw it in an exception. Afterwards the canary must be found nowhere but in the agent's value requests: not in any
# output or error, the transcript, the run logs, the server's log, any other API answer, any file of the five homes,
# nor in a pg_dump of the database.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    Assert-TestServer -Variable FLOWSTORE_TEST_POSTGRES_HOST, FLOWSTORE_TEST_POSTGRES_PORT, FLOWSTORE_TEST_POSTGRES_USER, FLOWSTORE_TEST_POSTGRES_BIN -StartScript Start-Postgres.ps1

    $script:Canary = 'canary-' + [guid]::NewGuid().ToString('N')
    $script:CanarySha = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:Canary)))
    $script:Transcript = Join-Path $TestDrive 'canary-transcript.txt'
    $script:Dump = Join-Path $TestDrive 'pg_dump.sql'
    $savedHeartbeat = $env:FLOWSTORE_HEARTBEAT_INTERVAL
    $env:FLOWSTORE_HEARTBEAT_INTERVAL = '0.05'   # runs flush their log every 50 ms

    # A database of this file's own on the test cluster, and the server over it with keys required.
    $script:Pg = @{ Host = $env:FLOWSTORE_TEST_POSTGRES_HOST; Port = $env:FLOWSTORE_TEST_POSTGRES_PORT; User = $env:FLOWSTORE_TEST_POSTGRES_USER }
    $script:Database = 'fs_canary_' + [guid]::NewGuid().ToString('N').Substring(0, 12)
    & "$env:FLOWSTORE_TEST_POSTGRES_BIN/createdb" -h $Pg.Host -p $Pg.Port -U $Pg.User $script:Database
    if ($LASTEXITCODE -ne 0) { throw "createdb $script:Database failed ($LASTEXITCODE)" }
    $script:Homes = @{}
    foreach ($who in 'server', 'admin', 'ci', 'agent', 'ops') {
        $script:Homes[$who] = Join-Path ([IO.Path]::GetTempPath()) ("fs-canary-$who-" + [guid]::NewGuid().ToString('N'))
    }
    $env:Flowstore__ApiKeys = 'Required'
    try {
        $script:Server = Start-FlowServer -Home $Homes.server -Backend Postgres `
            -ConnectionString "Host=$($Pg.Host);Port=$($Pg.Port);Username=$($Pg.User);Database=$script:Database"
    }
    finally {
        Remove-Item env:Flowstore__ApiKeys
    }
    $script:AdminToken = (Get-Content -LiteralPath (Join-Path $Homes.server 'admin.key') -Raw).Trim()

    function Get-Plain([securestring]$Secure) { [Net.NetworkCredential]::new('', $Secure).Password }

    # Which home (and key) the next commands run as: the admin through its saved connection, the others through
    # FLOWSTORE_SERVER_URL and FLOWSTORE_API_KEY only.
    function Use-Home([string]$Who) {
        $env:FLOWSTORE_HOME = $script:Homes[$Who]
        if ($Who -eq 'admin') {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
        }
        else {
            $env:FLOWSTORE_SERVER_URL = $script:Server.Url
            $env:FLOWSTORE_API_KEY = $script:Tokens[$Who]
        }
    }

    $savedHome = $env:FLOWSTORE_HOME
    Use-Home admin
    $null = Connect-FlowServer -Url $Server.Url -ApiKey (ConvertTo-SecureString $script:AdminToken -AsPlainText -Force)
    $script:Tokens = @{
        ci    = Get-Plain (New-FlowApiKey -Name ci -Role Registrar).Token
        agent = Get-Plain (New-FlowApiKey -Name agent -Role Agent).Token
        ops   = Get-Plain (New-FlowApiKey -Name ops -Role Reader).Token
    }

    # The script names the secret, never holds it: scripts are compiled and cached in each home that loads them.
    $script:FlowPath = Join-Path $TestDrive 'secretive.cs'
    [IO.File]::WriteAllText($script:FlowPath, (Get-FlowFixture secretive.cs), [Text.UTF8Encoding]::new($false))

    try {
        $script:Capture = Invoke-CanaryCapture -TranscriptPath $script:Transcript -Commands {
            $secure = ConvertTo-SecureString -String $script:Canary -AsPlainText -Force

            # The admin: the three ways in, -PassThru, -WhatIf, listing, removing; a project.
            Use-Home admin
            $script:Canary | Set-FlowSecret -Name CANARY_TOKEN -PassThru
            Set-FlowSecret -Name CANARY_SECURE -Value $secure -PassThru
            Set-FlowSecret -Name CANARY_CREDENTIAL -Credential ([pscredential]::new('user', $secure)) -PassThru
            $script:Canary | Set-FlowSecret -Name CANARY_TOKEN -WhatIf
            Set-FlowSecret -Name CANARY_WHATIF -Value $secure -WhatIf
            Remove-FlowSecret -Name CANARY_TOKEN -WhatIf
            Remove-FlowSecret -Name CANARY_SECURE -Force
            Get-FlowSecret
            Get-FlowSecret -Name CANARY_TOKEN, CANARY_CREDENTIAL, CANARY_WHATIF, 'CANARY*'
            New-FlowProject -Name Canary

            # CI registers and queues two runs; the agent executes them (-Once returns when the queue is empty).
            Use-Home ci
            Register-Flow -Path $script:FlowPath -Project Canary
            Test-FlowScript -Path $script:FlowPath
            $script:Queued = @(
                Start-FlowRun -Name secretive -Project Canary -Parameters @{ secret = 'CANARY_TOKEN' }
                Start-FlowRun -Name secretive -Project Canary -Parameters @{ secret = 'CANARY_CREDENTIAL' }
            )
            $script:Queued
            Use-Home agent
            Start-FlowAgent -Once -PassThru -Verbose
            Use-Home ci
            # Here and now, outside any run: the server hands the value to no one, so the task cannot get it.
            $script:Invoked = Invoke-Flow -Path $script:FlowPath -Parameters @{ secret = 'CANARY_TOKEN' }
            $script:Invoked

            # Ops looks at everything.
            Use-Home ops
            Get-FlowSecret
            Get-Flow -Project Canary
            Get-FlowRun
            Get-FlowRun | Format-List *
            Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
        }
    }
    finally {
        $env:FLOWSTORE_HEARTBEAT_INTERVAL = $savedHeartbeat
    }
    Use-Home ops
    $script:Runs = @(Get-FlowRun)
    $script:LogOf = @{}
    foreach ($run in $script:Runs) { $script:LogOf[$run.Id] = @(Get-FlowRunLog -Id $run.Id) }
    $script:Logs = @($script:LogOf.Values | ForEach-Object { $_ })
    $script:Listed = @(Get-FlowSecret)

    # API answers other than the agent's value requests, as an admin sees them.
    $admin = @{ Authorization = "Bearer $script:AdminToken" }
    $script:Answers = foreach ($path in 'secrets', 'secrets/CANARY_TOKEN', 'secret-ciphertexts', 'flows', 'runs', 'projects', 'keys') {
        (Invoke-WebRequest -Uri "$($Server.Url)api/v1/$path" -Headers $admin -SkipHttpErrorCheck).Content
    }
    $script:Answers += foreach ($run in $script:Runs) {
        (Invoke-WebRequest -Uri "$($Server.Url)api/v1/runs/$($run.Id)/logs" -Headers $admin -SkipHttpErrorCheck).Content
    }

    # What a Reader and a Registrar get when they ask for a value themselves.
    $script:Refusals = foreach ($who in 'ops', 'ci') {
        $body = @{ agent = $script:Runs[0].Agent; name = 'CANARY_TOKEN' } | ConvertTo-Json
        $answer = Invoke-WebRequest -Uri "$($Server.Url)api/v1/runs/$($script:Runs[0].Id)/secret-values" -Method Post -Body $body -ContentType 'application/json' `
            -Headers @{ Authorization = "Bearer $($script:Tokens[$who])" } -SkipHttpErrorCheck
        # application/problem+json is not text to Invoke-WebRequest: read the bytes.
        [pscustomobject]@{ StatusCode = [int]$answer.StatusCode; Content = [Text.Encoding]::UTF8.GetString($answer.RawContentStream.ToArray()) }
    }

    Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
    $env:FLOWSTORE_HOME = $savedHome
    $null = Stop-FlowServer -Home $Homes.server
    & "$env:FLOWSTORE_TEST_POSTGRES_BIN/pg_dump" -h $Pg.Host -p $Pg.Port -U $Pg.User -d $script:Database -f $script:Dump
    if ($LASTEXITCODE -ne 0) { throw "pg_dump $script:Database failed ($LASTEXITCODE)" }
}

AfterAll {
    try { $null = Stop-FlowServer -Home $Homes.server -ErrorAction SilentlyContinue } catch { }
    foreach ($folder in $Homes.Values) { Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue }
    & "$env:FLOWSTORE_TEST_POSTGRES_BIN/dropdb" -h $Pg.Host -p $Pg.Port -U $Pg.User --force --if-exists $script:Database
}

Describe 'Secrets canary through the server: a secret value goes to the agent''s run and nowhere else' {
    Context 'the canary was really used' {
        It 'the agent, in a home of its own, got the value from the server for both runs (printed as ***)' {
            $script:Runs | Should -HaveCount 2
            foreach ($run in $script:Runs) {
                $run.State | Should -Be 'Failed'
                $run.CreatedBy | Should -Be 'ci'
                ($run.Tasks | Where-Object Name -EQ use).State | Should -Be 'Success'
                ($run.Tasks | Where-Object Name -EQ reject).State | Should -Be 'Failed'
                ($run.Tasks | Where-Object Name -EQ reject).Attempts | Should -Be 2
                $run.Error | Should -BeLike '*the token *** was rejected*'
                $log = $script:LogOf[$run.Id]
                $log.Message | Should -Contain "sha256: $script:CanarySha" -Because 'the task got the value'
                foreach ($line in 'console: ***', 'stderr: ***', 'in two writes: ***', 'info: ***', 'warning: ***', 'error: ***') {
                    $log.Message | Should -Contain $line
                }
            }
            $served = Get-Content -LiteralPath $Server.LogFile | Where-Object { $_ -like '*Secret CANARY_* went to agent *' }
            @($served).Count | Should -BeGreaterOrEqual 4 -Because 'each run asked for its secret in two tasks'
            $served | Should -Not -BeLike '*key=ci*'
            $served | ForEach-Object { $_ | Should -BeLike '*(key=agent)' }
        }

        It 'the admin''s secrets are the server''s: names listed from every home, no key file in the other homes' {
            Test-Path -LiteralPath (Join-Path $Homes.server 'secret.key') | Should -BeTrue
            # (The admin's home has a key of its own: it keeps the admin's API key, saved by Connect-FlowServer.)
            foreach ($who in 'ci', 'agent', 'ops') {
                Test-Path -LiteralPath (Join-Path $Homes[$who] 'secret.key') | Should -BeFalse -Because "$who's home encrypts nothing"
            }
            $listed = $script:Listed   # as ops (a Reader key) sees them at the end
            $listed.Name | Should -Contain 'CANARY_TOKEN'
            $listed.Name | Should -Contain 'CANARY_CREDENTIAL'
            $listed.Name | Should -Not -Contain 'CANARY_SECURE'
            $listed | ForEach-Object { $_.Source | Should -BeLike "Flowstore server secret store ($($Server.Url))" }
        }

        It 'outside a run (Invoke-Flow) nobody gets the value: the task says where it looked' {
            $script:Invoked.State | Should -Be 'Failed'
            ($script:Invoked.Log.Message -join "`n") | Should -Not -Match $script:CanarySha
            ($script:Invoked.Tasks | Where-Object Name -EQ use).Error | Should -BeLike '*CANARY_TOKEN*Flowstore server secret store*'
        }

        It 'a Reader or a Registrar asking for a value is AccessDenied naming the role needed' {
            foreach ($refusal in $script:Refusals) {
                [int]$refusal.StatusCode | Should -Be 403
                $problem = $refusal.Content | ConvertFrom-Json
                $problem.errorId | Should -Be 'AccessDenied'
                $problem.detail | Should -BeLike '*needs role Agent or Admin*'
            }
        }

        It 'every stream was captured (output, errors, warnings, verbose, What if text)' {
            $types = $Capture.Captured | ForEach-Object { $_.GetType().Name } | Sort-Object -Unique
            $types | Should -Contain 'ErrorRecord'
            $types | Should -Contain 'WarningRecord'
            $types | Should -Contain 'VerboseRecord'
            $transcript = Get-Content -LiteralPath $script:Transcript -Raw
            $transcript | Should -BeLike '*What if: Performing the operation "Set (encrypted in the Flowstore secret store)" on target "secret ''CANARY_TOKEN''"*'
            $transcript | Should -BeLike '*What if: Performing the operation "Remove from the Flowstore secret store"*'
        }
    }

    Context 'zero hits' {
        It 'in all captured output, formatted or not' {
            $Capture.Captured | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            $Capture.Objects | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText $Capture.Objects | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the transcript' {
            Find-CanaryBytes ([IO.File]::ReadAllBytes($script:Transcript)) -Canary $script:Canary | Should -BeNullOrEmpty
        }

        It 'in the run logs and the run records' {
            $script:Logs | Should -Not -BeNullOrEmpty
            $script:Logs | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText $script:Runs | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the error records ($Error), including exception messages' {
            $Capture.NewErrors | Should -Not -BeNullOrEmpty
            ConvertTo-AllText $Capture.NewErrors | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the environment of the process' {
            Get-ChildItem env: | Where-Object { "$($_.Value)".Contains($script:Canary) } | Should -BeNullOrEmpty
        }

        It 'in any API answer but the agent''s value requests (secrets, ciphertexts, flows, runs, logs, keys)' {
            $script:Answers | Should -HaveCount (7 + $script:Runs.Count)
            ($script:Answers -join "`n") | Should -BeLike '*CANARY_TOKEN*' -Because 'the answers were read'
            ($script:Answers -join "`n") | Should -Not -BeLike "*$script:Canary*"
            $script:Refusals | ForEach-Object { $_.Content | Should -Not -BeLike "*$script:Canary*" }
        }

        It 'in the server''s log' {
            Get-Content -LiteralPath $Server.LogFile -Raw | Should -BeLike '*POST /api/v1/runs/*/secret-values 200*'
            Find-CanaryInFiles (Get-Item -LiteralPath $Server.LogFile) -Canary $script:Canary | Should -BeNullOrEmpty
        }

        It 'in any file of the server''s, the admin''s, CI''s, the agent''s and ops'' homes, as UTF-8 or UTF-16' {
            $files = @(foreach ($folder in $Homes.Values) { Get-ChildItem -LiteralPath $folder -Recurse -Force -File })
            $names = $files | ForEach-Object FullName
            $names | Should -Contain (Join-Path $Homes.server 'secret.key')
            $names | Should -Contain (Join-Path $Homes.server 'server.log')
            @($names | Where-Object { $_ -like "$($Homes.agent)*cache*" }).Count | Should -BeGreaterThan 0 -Because 'the agent compiled the script'
            Find-CanaryInFiles $files -Canary $script:Canary | Should -BeNullOrEmpty
        }

        It 'in the database (pg_dump)' {
            $dump = Get-Content -LiteralPath $script:Dump -Raw
            $dump | Should -BeLike '*console: `*`*`**' -Because 'the redacted run log is in the database'
            $dump | Should -BeLike '*CANARY_TOKEN*' -Because 'the secret is stored (as ciphertext)'
            Find-CanaryInFiles (Get-Item -LiteralPath $script:Dump) -Canary $script:Canary | Should -BeNullOrEmpty
        }
    }
}
