BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name Sales
    $null = New-FlowProject -Name Ops

    function Get-Plain([securestring]$Secure) { $Secure | ConvertFrom-SecureString -AsPlainText }
}

AfterAll {
    Exit-TestHome
}

Describe 'New-FlowApiKey' {
    It 'outputs the key and its token once, as a SecureString with the fsk_ prefix' {
        $key = New-FlowApiKey -Name ci -Role Registrar -Project sales -ExpiresIn (New-TimeSpan -Days 90)
        $key.Name | Should -Be 'ci'
        $key.Role | Should -Be 'Registrar'
        $key.Projects | Should -Be @('Sales')
        $key.Expires | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddDays(89))
        $key.Token | Should -BeOfType [securestring]
        Get-Plain $key.Token | Should -Match '^fsk_[A-Za-z0-9_-]{43}$'
        $key.Key.CreatedBy | Should -BeLike 'local user *'
        ($key | Out-String) | Should -Match 'shown this once'
        ($key | Out-String) | Should -Not -Match 'fsk_[A-Za-z0-9_-]{10}'
    }

    It 'a name taken by a key that is not revoked is ApiKeyExists; an unknown project is ProjectNotFound; nothing is made' {
        $null = New-FlowApiKey -Name taken -Role Reader
        { New-FlowApiKey -Name TAKEN -Role Admin } | Should -Throw -ErrorId 'ApiKeyExists,Flowstore.Commands.NewFlowApiKeyCommand'
        { New-FlowApiKey -Name other -Role Reader -Project Nope } | Should -Throw -ErrorId 'ProjectNotFound,Flowstore.Commands.NewFlowApiKeyCommand'
        { New-FlowApiKey -Name other -Role Reader -ExpiresIn ([timespan]::Zero) } | Should -Throw -ErrorId 'ParameterInvalid,Flowstore.Commands.NewFlowApiKeyCommand'
        @(Get-FlowApiKey -Name taken) | Should -HaveCount 1
        Get-FlowApiKey -Name other | Should -BeNullOrEmpty
    }

    It 'an unknown role is ParameterInvalid naming the roles, case is ignored, and -Role completes every role with what it may do' {
        { New-FlowApiKey -Name x -Role Superuser } | Should -Throw -ErrorId 'ParameterInvalid,Flowstore.Commands.NewFlowApiKeyCommand' -ExpectedMessage "'Superuser' is not a role; the roles are Reader, Registrar, Agent, Admin."
        { New-FlowApiKey -Name x -Role 3 } | Should -Throw -ErrorId 'ParameterInvalid,Flowstore.Commands.NewFlowApiKeyCommand'
        (New-FlowApiKey -Name lower-role -Role agent).Role | Should -Be 'Agent'
        $line = 'New-FlowApiKey -Name x -Role '
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $completions.CompletionText | Should -Be @('Reader', 'Registrar', 'Agent', 'Admin')
        ($completions | Where-Object CompletionText -eq 'Agent').ToolTip | Should -BeLike '*claim and execute runs*'
        $line = 'New-FlowApiKey -Name x -Role Re'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('Reader', 'Registrar')
    }

    It '-WhatIf makes nothing' {
        New-FlowApiKey -Name whatif -Role Admin -WhatIf 6>$null | Should -BeNullOrEmpty
        Get-FlowApiKey -Name whatif | Should -BeNullOrEmpty
    }
}

Describe 'Get-FlowApiKey' {
    It 'lists keys with role, projects and state, never a token; wildcards select by name' {
        $key = New-FlowApiKey -Name listed-1 -Role Agent
        $null = New-FlowApiKey -Name listed-2 -Role Reader -Project Ops
        $listed = Get-FlowApiKey -Name 'listed-*'
        $listed.Name | Should -Be @('listed-1', 'listed-2')
        $listed[0].GetType().FullName | Should -Be 'Flowstore.ApiKeyInfo'
        $listed[0].State | Should -Be 'Active'
        $listed[1].Projects | Should -Be @('Ops')
        $listed[0].PSObject.Properties.Name | Should -Not -Contain 'Token'
        $text = ($listed | Out-String) + ($listed | Format-List * | Out-String) + ($listed | ConvertTo-Json)
        $text | Should -Not -Match ([regex]::Escape((Get-Plain $key.Token).Substring(4)))
        ($listed | Out-String) | Should -Match 'listed-2\s+Reader\s+Ops\s+Active\s+never'
    }

    It 'completes -Name with the names of keys that are not revoked' {
        $null = New-FlowApiKey -Name completed-key -Role Reader
        $line = 'Get-FlowApiKey -Name completed-'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('completed-key')
    }
}

Describe 'Revoke-FlowApiKey' {
    It 'is a high-impact operation with -Force, -WhatIf and -Confirm' {
        $command = Get-Command Revoke-FlowApiKey
        $attribute = $command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $attribute.SupportsShouldProcess | Should -BeTrue
        $attribute.ConfirmImpact | Should -Be 'High'
        $command.Parameters.Keys | Should -Contain 'Force'
    }

    It '-WhatIf keeps the key; -Force revokes it, hides it from the list and frees its name' {
        $null = New-FlowApiKey -Name rotated -Role Registrar
        Revoke-FlowApiKey -Name rotated -Force -WhatIf 6>$null
        (Get-FlowApiKey -Name rotated).State | Should -Be 'Active'

        $revoked = Revoke-FlowApiKey -Name ROTATED -Force -PassThru
        $revoked.State | Should -Be 'Revoked'
        Get-FlowApiKey -Name rotated | Should -BeNullOrEmpty
        (Get-FlowApiKey -Name rotated -IncludeRevoked).State | Should -Be 'Revoked'
        $null = New-FlowApiKey -Name rotated -Role Registrar
        (Get-FlowApiKey -Name rotated -IncludeRevoked).State | Should -Be @('Revoked', 'Active')
    }

    It 'takes keys from Get-FlowApiKey by Id' {
        $null = New-FlowApiKey -Name piped-a -Role Reader
        $null = New-FlowApiKey -Name piped-b -Role Reader
        Get-FlowApiKey -Name 'piped-*' | Revoke-FlowApiKey -Force
        Get-FlowApiKey -Name 'piped-*' | Should -BeNullOrEmpty
        (Get-FlowApiKey -Name 'piped-*' -IncludeRevoked) | Should -HaveCount 2
    }

    It 'an unknown or already revoked name is a non-terminating ApiKeyNotFound; the other names are still revoked' {
        $null = New-FlowApiKey -Name gone -Role Reader
        $null = New-FlowApiKey -Name stays-valid -Role Reader
        Revoke-FlowApiKey -Name gone -Force
        Revoke-FlowApiKey -Name never-made, gone, stays-valid -Force -ErrorAction SilentlyContinue -ErrorVariable ev
        $ev | Should -HaveCount 2
        $ev[0].FullyQualifiedErrorId | Should -Be 'ApiKeyNotFound,Flowstore.Commands.RevokeFlowApiKeyCommand'
        $ev[0].Exception.Message | Should -Be "There is no API key named 'never-made'."
        $ev[1].Exception.Message | Should -Be "The API key 'gone' is already revoked."
        $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Get-FlowApiKey -Name stays-valid | Should -BeNullOrEmpty
    }
}

Describe 'API key canary' {
    It 'a token is in no file of the home, no error, no verbose line and no other output than the creation output' {
        $created = New-FlowApiKey -Name canary -Role Admin -Verbose 4>&1
        $key = $created | Where-Object { $_ -is [Flowstore.Commands.NewFlowApiKeyResult] }
        $token = Get-Plain $key.Token
        $secretPart = $token.Substring(4)
        $seen = [System.Text.StringBuilder]::new()
        $null = $seen.AppendLine(($created | Where-Object { $_ -isnot [Flowstore.Commands.NewFlowApiKeyResult] } | Out-String))
        $null = $seen.AppendLine(($key | Out-String)).AppendLine(($key | Format-List * | Out-String))
        $null = $seen.AppendLine((Get-FlowApiKey -IncludeRevoked | Format-List * | Out-String))
        try { New-FlowApiKey -Name canary -Role Admin } catch { $null = $seen.AppendLine(($_ | Out-String)).AppendLine($_.Exception.ToString()) }
        Revoke-FlowApiKey -Name canary -Force -Verbose 4>&1 | ForEach-Object { $null = $seen.AppendLine("$_") }
        $seen.ToString() | Should -Not -Match ([regex]::Escape($secretPart))

        $files = Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File -Force
        $files | Should -Not -BeNullOrEmpty
        foreach ($file in $files) {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            $utf8 = [Text.Encoding]::UTF8.GetString($bytes)
            $utf16 = [Text.Encoding]::Unicode.GetString($bytes)
            ($utf8.Contains($secretPart) -or $utf16.Contains($secretPart)) | Should -BeFalse -Because "$($file.FullName) must not hold a key token"
        }
    }
}

Describe 'API keys of a connected server' {
    BeforeAll {
        $script:keyServerHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-server-" + [guid]::NewGuid())
        $script:keyServer = Start-FlowServer -Home $keyServerHome
        $null = Enter-TestHome # the admin's home: connected, nothing local
        $null = Connect-FlowServer -Url $keyServer.Url -ApiKey $keyServer.AdminKey
        $null = New-FlowProject -Name Sales
    }

    AfterAll {
        Disconnect-FlowServer -ErrorAction SilentlyContinue
        Exit-TestHome
        Stop-FlowServer -Home $keyServerHome -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath $keyServerHome -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'New-FlowApiKey makes the key on the server (created by the admin key), Get-FlowApiKey lists it, and the key works from another home' {
        $ci = New-FlowApiKey -Name ci -Role Registrar -Project sales
        $ci.Projects | Should -Be @('Sales')
        $ci.Key.CreatedBy | Should -Be 'admin'
        $token = Get-Plain $ci.Token
        (Get-FlowApiKey).Name | Should -Be @('admin', 'ci')
        (Get-FlowApiKey -Name ci).State | Should -Be 'Active'

        $null = Enter-TestHome
        try {
            $env:FLOWSTORE_SERVER_URL = $keyServer.Url
            $env:FLOWSTORE_API_KEY = $token
            (Get-FlowProject).Name | Should -Be 'Sales'
            $err = { New-FlowApiKey -Name sneaky -Role Admin } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.NewFlowApiKeyCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*needs role Admin*'
            { Get-FlowApiKey } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.GetFlowApiKeyCommand'
        }
        finally {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
            Exit-TestHome
        }
        (Get-FlowApiKey -Name sneaky) | Should -BeNullOrEmpty
    }

    It 'Revoke-FlowApiKey revokes on the server: the key is ApiKeyInvalid naming it from then on' {
        $agent = New-FlowApiKey -Name agent-1 -Role Agent
        Revoke-FlowApiKey -Name agent-1 -Force
        (Get-FlowApiKey -Name agent-1 -IncludeRevoked).State | Should -Be 'Revoked'
        $null = Enter-TestHome
        try {
            $env:FLOWSTORE_SERVER_URL = $keyServer.Url
            $env:FLOWSTORE_API_KEY = Get-Plain $agent.Token
            $err = { Get-FlowProject } | Should -Throw -ErrorId 'ApiKeyInvalid,Flowstore.Commands.GetFlowProjectCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'agent-1' was revoked*"
        }
        finally {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
            Exit-TestHome
        }
    }

    It 'a key limited to a project sees only that project''s projects, flows and runs, and is AccessDenied naming another project' {
        $file = New-FlowScript "$TestDrive/limited.cs" (Get-LinearFlowBody -Name limited_flow -Message 'limited')
        $null = New-FlowProject -Name Ops
        $null = Register-Flow -Path $file -Project Sales
        $null = Register-Flow -Path $file -Project Ops
        $opsRun = Start-FlowRun -Name limited_flow -Project Ops
        $ci = New-FlowApiKey -Name ci-sales -Role Registrar -Project Sales

        $null = Enter-TestHome
        try {
            $env:FLOWSTORE_SERVER_URL = $keyServer.Url
            $env:FLOWSTORE_API_KEY = Get-Plain $ci.Token
            (Get-FlowProject).Name | Should -Be @('Sales')
            @(Get-Flow).Project | Should -Be @('Sales')
            $salesRun = Start-FlowRun -Name limited_flow -Project Sales
            $salesRun.CreatedBy | Should -Be 'ci-sales'
            @(Get-FlowRun).Id | Should -Be @($salesRun.Id)

            $err = { Start-FlowRun -Name limited_flow -Project Ops } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*limited to project(s) Sales; project 'Ops' is not one of them*"
            $err = { Register-Flow -Path $file -Project Ops -Force } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*project 'Ops'*"
            { Get-Flow -Project Ops } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.GetFlowCommand'
            { Get-FlowRun -Id $opsRun.Id } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.GetFlowRunCommand'
            { Get-FlowRunLog -Id $opsRun.Id } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.GetFlowRunLogCommand'
            { Stop-FlowRun -Id $opsRun.Id } | Should -Throw -ErrorId 'AccessDenied,Flowstore.Commands.StopFlowRunCommand'
        }
        finally {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
            Exit-TestHome
        }
        @(Get-Flow -Name limited_flow -Project Ops -AllVersions) | Should -HaveCount 1 -Because 'nothing was registered in Ops by the limited key'
        (Get-FlowRun -Id $opsRun.Id).State | Should -Be 'Scheduled'
    }

    It 'a token made through the server is in no file of either home, the server log or its database' {
        $made = New-FlowApiKey -Name server-canary -Role Reader
        $secretPart = (Get-Plain $made.Token).Substring(4)
        foreach ($file in @(Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME, $keyServerHome -Recurse -File -Force)) {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            ([Text.Encoding]::UTF8.GetString($bytes).Contains($secretPart) -or [Text.Encoding]::Unicode.GetString($bytes).Contains($secretPart)) |
                Should -BeFalse -Because "$($file.FullName) must not hold a key token"
        }
    }
}
