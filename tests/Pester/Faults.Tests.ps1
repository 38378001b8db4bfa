# Fault drills at the cmdlet level: a damaged database (the error is about the file, categorised by what is wrong with
# it), a lost secret store key (never silently replaced), and runaway flow builds (stopped, nothing registered, the
# session still usable).
BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    function ConvertTo-Secure([string]$Text) { ConvertTo-SecureString -String $Text -AsPlainText -Force }
}

Describe 'A database file that is not a database' {
    BeforeAll {
        $null = Enter-TestHome
        $null = New-Item -ItemType Directory -Path $env:FLOWSTORE_HOME
        $script:db = Join-Path $env:FLOWSTORE_HOME 'flowstore.db'
        [IO.File]::WriteAllBytes($script:db, [byte[]]::new(8192) + 0x5A)
        $script:flowFile = New-FlowScript "$TestDrive/one.cs" 'var flow = new Flow("one"); flow.Task("t", () => 1);'
    }
    AfterAll { Exit-TestHome }

    It 'Register-Flow fails with BackendUnavailable, ReadError, and the database file as the target' {
        $err = $null
        try { Register-Flow -Path $script:flowFile -Project P -CreateProject } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'BackendUnavailable*'
        $err.CategoryInfo.Category | Should -Be 'ReadError'
        $err.TargetObject | Should -Be $script:db
    }
}

Describe 'A lost secret store key' {
    BeforeAll {
        $null = Enter-TestHome
        Set-FlowSecret -Name OLD -Value (ConvertTo-Secure 'old-value')
        $script:key = Join-Path $env:FLOWSTORE_HOME 'secret.key'
        Remove-Item -LiteralPath $script:key
    }
    AfterAll { Exit-TestHome }

    It 'Set-FlowSecret refuses with SecretKeyMissing, suggests restoring the key or -NewKey, and creates no key' {
        { Set-FlowSecret -Name OTHER -Value (ConvertTo-Secure 'v') } | Should -Throw -ErrorId 'SecretKeyMissing*'
        $err = $null
        try { Set-FlowSecret -Name OTHER -Value (ConvertTo-Secure 'v') } catch { $err = $_ }
        $err.ErrorDetails.RecommendedAction | Should -BeLike "*Restore the key file*-NewKey*"
        Test-Path -LiteralPath $script:key | Should -BeFalse
    }

    It 'Get-FlowSecret marks the stored secret as unreadable (key missing)' {
        (Get-FlowSecret -Name OLD).KeyState | Should -Be 'KeyMissing'
        (Get-FlowSecret | Format-Table | Out-String -Width 300) | Should -Match 'UNREADABLE: key missing'
    }

    It 'Set-FlowSecret -NewKey starts a new key and warns which secrets it abandons' {
        $warnings = @()
        Set-FlowSecret -Name OTHER -Value (ConvertTo-Secure 'v') -NewKey -WarningVariable warnings -WarningAction SilentlyContinue
        ($warnings -join "`n") | Should -Match 'abandoned: OLD'
        (Get-FlowSecret -Name OLD).KeyState | Should -Be 'OtherKey'
        (Get-FlowSecret -Name OTHER).KeyState | Should -Be 'Readable'
    }
}

Describe 'A runaway flow build' {
    BeforeAll {
        $null = Enter-TestHome
        $script:savedTimeout = $env:FLOWSTORE_BUILD_TIMEOUT
        $script:savedMemory = $env:FLOWSTORE_BUILD_MEMORY_MB
        $env:FLOWSTORE_BUILD_TIMEOUT = '3'
        $env:FLOWSTORE_BUILD_MEMORY_MB = '128'
        $script:spin = New-FlowScript "$TestDrive/spin.cs" 'var flow = new Flow("spin"); flow.Task("t", () => 1); while (true) { }'
        $script:hog = New-FlowScript "$TestDrive/hog.cs" 'var flow = new Flow("hog"); flow.Task("t", () => 1); var keep = new List<byte[]>(); while (true) { keep.Add(new byte[1 << 20]); }'
        $script:good = New-FlowScript "$TestDrive/good.cs" 'var flow = new Flow("good"); flow.Task("t", () => 1);'
        $null = New-FlowProject -Name P
    }
    AfterAll {
        $env:FLOWSTORE_BUILD_TIMEOUT = $script:savedTimeout
        $env:FLOWSTORE_BUILD_MEMORY_MB = $script:savedMemory
        Exit-TestHome
    }

    It 'Register-Flow stops a top level that never ends: ScriptBuildTimeout naming the script, nothing registered, in bounded time' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $err = $null
        $result = Register-Flow -Path $script:spin -Project P -ErrorVariable err -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 60
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ScriptBuildTimeout*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $err[0].Exception.Message | Should -BeLike "*$($script:spin)*"
        $result.Status | Should -Be 'Failed'
        @(Get-Flow -Project P) | Should -HaveCount 0
    }

    It 'Test-FlowScript stops it too' {
        { Test-FlowScript -Path $script:spin -ErrorAction Stop } | Should -Throw -ErrorId 'ScriptBuildTimeout*'
    }

    It 'Register-Flow stops a top level that allocates without bound: ScriptBuildMemoryExceeded' {
        $err = $null
        $null = Register-Flow -Path $script:hog -Project P -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ScriptBuildMemoryExceeded*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
    }

    It 'the session is still usable: a second registration succeeds' {
        (Register-Flow -Path $script:good -Project P).Status | Should -Be 'Registered'
    }
}
