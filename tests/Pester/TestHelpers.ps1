# Shared by the *.Tests.ps1 files: dot-source it in BeforeAll. Not a test file itself.
# Each test file (or block) gets its own FLOWSTORE_HOME under the temp folder, never the user's ~/.flowstore,
# and flow scripts are written under TestDrive:, never into the repository.

function Enter-TestHome {
    <# Points FLOWSTORE_HOME at a new, empty temp folder (not created) and remembers the previous value. #>
    if (-not (Test-Path variable:script:FlowstoreHomeStack)) {
        $script:FlowstoreHomeStack = [System.Collections.Generic.Stack[object]]::new()
    }
    $script:FlowstoreHomeStack.Push($env:FLOWSTORE_HOME)
    $env:FLOWSTORE_HOME = Join-Path ([IO.Path]::GetTempPath()) ("fs-" + [guid]::NewGuid())
    $env:FLOWSTORE_HOME
}

function Exit-TestHome {
    <# Deletes the current test home and restores the FLOWSTORE_HOME that was set before Enter-TestHome. #>
    $current = $env:FLOWSTORE_HOME
    if ($current -and $current.StartsWith([IO.Path]::GetTempPath()) -and (Test-Path -LiteralPath $current)) {
        Remove-Item -LiteralPath $current -Recurse -Force -ErrorAction SilentlyContinue
    }
    $env:FLOWSTORE_HOME = if ($script:FlowstoreHomeStack.Count -gt 0) { $script:FlowstoreHomeStack.Pop() } else { $null }
}

function New-FlowScript {
    <#
    Writes a flow script (UTF-8, no BOM) and returns its full path. -Body is C# placed after `using Flowstore;`.
    #>
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][string]$Body
    )
    $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    $null = New-Item -ItemType Directory -Force -Path ([IO.Path]::GetDirectoryName($full))
    [IO.File]::WriteAllText($full, "using Flowstore;`n" + $Body, [Text.UTF8Encoding]::new($false))
    $full
}

function Get-LinearFlowBody {
    <#
    C# for one flow whose tasks run in a chain; the last one prints -Message (Console output of a task shows in
    the information stream as "[task] message").
    #>
    param(
        [string]$Name = 'example',
        [string[]]$Task = @('get_data', 'print_data'),
        [string]$Message = 'hello',
        [string]$Variable = 'flow'
    )
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add("var $Variable = new Flow(`"$Name`");")
    $previous = $null
    for ($i = 0; $i -lt $Task.Count; $i++) {
        $handle = "${Variable}_t$i"
        $last = $i -eq $Task.Count - 1
        if ($null -eq $previous) {
            if ($last) {
                $lines.Add("$Variable.Task(`"$($Task[$i])`", () => Console.WriteLine(`"$Message`"));")
            }
            else {
                $lines.Add("var $handle = $Variable.Task(`"$($Task[$i])`", () => $i);")
            }
        }
        elseif ($last) {
            $lines.Add("$Variable.Task(`"$($Task[$i])`", (int x) => Console.WriteLine(`"$Message`"), $previous);")
        }
        else {
            $lines.Add("var $handle = $Variable.Task(`"$($Task[$i])`", (int x) => x + 1, $previous);")
        }
        $previous = $handle
    }
    ($lines -join "`n") + "`n"
}

function Split-RunOutput {
    <# Splits `cmd 6>&1` output into the run object(s) and the information-stream text. #>
    param([object[]]$Output)
    [pscustomobject]@{
        Run  = @($Output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
        Text = @($Output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
    }
}

function Invoke-Run {
    <# Start-FlowRun -Wait of flow -Name in -Project (P by default): the run and the information-stream text (Split-RunOutput). #>
    param([Parameter(Mandatory)][string]$Name, [string]$Project = 'P')
    Split-RunOutput (Start-FlowRun -Name $Name -Project $Project -Wait 6>&1)
}

function Wait-Until {
    <#
    Polls -Condition until it is true, failing after -TimeoutSeconds: for waiting on an event (a file written by a
    task, a run's state), never on time. With -Process, fails at once (showing its error output) when that
    process exits before the condition holds.
    #>
    param(
        [Parameter(Mandatory)][scriptblock]$Condition,
        [Parameter(Mandatory)][string]$Because,
        [double]$TimeoutSeconds = 60,
        [System.Diagnostics.Process]$Process
    )
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ($Process -and $Process.HasExited) {
            throw "Process $($Process.Id) exited ($($Process.ExitCode)) before $Because. $(Get-AgentProcessOutput $Process)"
        }
        if ([DateTime]::UtcNow -gt $deadline) {
            throw "Timed out after ${TimeoutSeconds}s waiting until $Because."
        }
        Start-Sleep -Milliseconds 50
    }
}

function Start-AgentProcess {
    <#
    Starts `Start-FlowAgent <Arguments>` in a separate PowerShell process on the current FLOWSTORE_HOME, with
    -Environment added to the inherited environment. The process started is pwsh itself (not the `dotnet pwsh`
    launcher of the local tool), so its Id is the process to kill, and the agent's name ends with ":<Id>".
    Its standard output and error go to files under -LogFolder (see Get-AgentProcessOutput). Its exit code is
    pwsh's: 0 when the last run it executed succeeded (or there was none), 1 when it wrote an error.
    #>
    param(
        [string]$Arguments = '',
        [hashtable]$Environment = @{},
        [Parameter(Mandatory)][string]$LogFolder
    )
    $module = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
    # $ErrorActionPreference stays 'Continue': a failed run is an error record of the agent, which must not stop it.
    $command = "`$ProgressPreference = 'SilentlyContinue'; Import-Module '$module'; Start-FlowAgent $Arguments"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
    $executable = [Environment]::ProcessPath
    # Under `dotnet pwsh` (a local dotnet tool) this process is `dotnet .../pwsh.dll`: start the same.
    $arguments = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) +
        @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
    $variables = @{ FLOWSTORE_HOME = $env:FLOWSTORE_HOME }
    foreach ($key in $Environment.Keys) { $variables[$key] = $Environment[$key] }
    $null = New-Item -ItemType Directory -Force -Path $LogFolder
    $name = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $process = Start-Process -FilePath $executable -ArgumentList $arguments -Environment $variables -PassThru `
        -WorkingDirectory $LogFolder -RedirectStandardOutput "$LogFolder/$name.out" -RedirectStandardError "$LogFolder/$name.err"
    $process | Add-Member -NotePropertyName LogPath -NotePropertyValue "$LogFolder/$name" -PassThru
}

function Get-AgentProcessOutput {
    <# The standard output and error of a process from Start-AgentProcess, for failure messages. #>
    param([Parameter(Mandatory)][System.Diagnostics.Process]$Process)
    $text = foreach ($stream in 'out', 'err') {
        $file = "$($Process.LogPath).$stream"
        if (Test-Path -LiteralPath $file) { "std${stream}: " + (Get-Content -LiteralPath $file -Raw) }
    }
    $text -join ' '
}

function Stop-AgentProcess {
    <# Kills agent processes still running (SIGKILL), e.g. after a failed test; ignores those that ended. #>
    param([System.Diagnostics.Process[]]$Process)
    foreach ($p in $Process) {
        if ($p -and -not $p.HasExited) {
            $p.Kill()
            $null = $p.WaitForExit(10000)
        }
    }
}

function Assert-TestServer {
    <#
    Throws when one of the environment variables -Variable is not set: they come from the tests/servers script
    -StartScript, which must run first in the same session (build.ps1 -Task Test does).
    #>
    param(
        [Parameter(Mandatory)][string[]]$Variable,
        [Parameter(Mandatory)][string]$StartScript
    )
    foreach ($name in $Variable) {
        if (-not [Environment]::GetEnvironmentVariable($name)) {
            throw "$name is not set: start the test server first (tests/servers/$StartScript -WorkDirectory <folder>) in this session, or run build.ps1 -Task Test."
        }
    }
}

function Invoke-Git {
    <#
    Runs git in -Directory with a test identity (user.name and user.email); returns its output as one string,
    throws with git's output when it fails.
    #>
    param(
        [Parameter(Mandatory)][string]$Directory,
        [Parameter(ValueFromRemainingArguments)][string[]]$Arguments
    )
    $output = & git -C $Directory -c user.name='Test User' -c user.email=test@example.invalid @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "git $($Arguments -join ' ') failed: $($output -join "`n")" }
    ($output | ForEach-Object { "$_" }) -join "`n"
}

function New-TestRepository {
    <#
    A bare repository <Root>/<Name>.git whose HEAD is -DefaultBranch, and a work clone in a new folder under
    TestDrive whose origin is that bare repository (see Push-TestFile). -Name may contain slashes
    (owner/repo, group/sub/project); without it a random one is used. Returns Name, Bare and Work.
    #>
    param(
        [Parameter(Mandatory)][string]$Root,
        [string]$Name = ('p' + [guid]::NewGuid().ToString('N').Substring(0, 12)),
        [string]$DefaultBranch = 'main'
    )
    $bare = Join-Path $Root "$Name.git"
    $null = New-Item -ItemType Directory -Force $bare
    $null = Invoke-Git $bare init --quiet --bare "--initial-branch=$DefaultBranch"
    $work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = New-Item -ItemType Directory -Force $work
    $null = Invoke-Git $work init --quiet "--initial-branch=$DefaultBranch"
    $null = Invoke-Git $work remote add origin $bare
    [pscustomobject]@{ Name = $Name; Bare = $bare; Work = $work; DefaultBranch = $DefaultBranch }
}

function Push-TestFile {
    <#
    Writes -Content (UTF-8, no BOM) to -Path in the work clone of a New-TestRepository, commits that file alone
    (-Message, "Change <Path>" when not given) and pushes it to the bare repository's default branch; returns the
    commit SHA.
    #>
    param(
        [Parameter(Mandatory)]$Repository,
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][AllowEmptyString()][string]$Content,
        [string]$Message = "Change $Path"
    )
    $full = Join-Path $Repository.Work $Path
    $null = New-Item -ItemType Directory -Force ([IO.Path]::GetDirectoryName($full))
    [IO.File]::WriteAllText($full, $Content, [Text.UTF8Encoding]::new($false))
    $null = Invoke-Git $Repository.Work add -- $Path
    $null = Invoke-Git $Repository.Work commit --quiet -m $Message
    $null = Invoke-Git $Repository.Work push --quiet origin "HEAD:refs/heads/$($Repository.DefaultBranch)"
    (Invoke-Git $Repository.Work rev-parse HEAD).Trim()
}

function Get-FlowFixture {
    <# The text of the flow script tests/Fixtures/<Name>, shared with the xunit tests (Flowstore.TestSupport's Fixtures). #>
    param([Parameter(Mandatory)][string]$Name)
    [IO.File]::ReadAllText((Join-Path $PSScriptRoot '..' 'Fixtures' $Name))
}

# ---------------------------------------------------------------- canary tests: a value that must show nowhere

function Invoke-CanaryCapture {
    <#
    Runs -Commands with every stream on (verbose, debug, information, warning; errors do not stop it) under a
    transcript written to -TranscriptPath, and returns what they wrote to all streams (Captured), the objects among it
    without formatting data (Objects), and the errors they added to $Error (NewErrors).
    #>
    param(
        [Parameter(Mandatory)][string]$TranscriptPath,
        [Parameter(Mandatory)][scriptblock]$Commands
    )
    $errorCountBefore = $Error.Count
    $null = Start-Transcript -LiteralPath $TranscriptPath -IncludeInvocationHeader
    try {
        $everything = & {
            $VerbosePreference = 'Continue'
            $DebugPreference = 'Continue'
            $InformationPreference = 'Continue'
            $WarningPreference = 'Continue'
            $ErrorActionPreference = 'Continue'
            & $Commands
        } *>&1
    }
    finally {
        $null = Stop-Transcript
    }
    [pscustomobject]@{
        Captured  = @($everything)
        # Format-List output inside the capture is formatting data, which only Out-String can take again.
        Objects   = @($everything | Where-Object { $_.GetType().Namespace -ne 'Microsoft.PowerShell.Commands.Internal.Format' })
        NewErrors = @($Error | Select-Object -First ($Error.Count - $errorCountBefore))
    }
}

function ConvertTo-AllText {
    <#
    The text of objects in every form a user could see them: Out-String and Format-List of all; of an error record
    its string, exception chain (messages, ToString, properties), details, invocation, script stack, target and
    category; of a stream record its message; of any other object its JSON and all its properties.
    #>
    param([object[]]$InputObject)
    $InputObject | Out-String -Width 500
    $InputObject | Format-List * -Force | Out-String -Width 500
    foreach ($item in $InputObject) {
        if ($item -is [System.Management.Automation.ErrorRecord]) {
            "$item"
            for ($e = $item.Exception; $e; $e = $e.InnerException) { $e.Message; $e.ToString() }
            $item.Exception | Format-List * -Force | Out-String -Width 500
            "$($item.ErrorDetails)"
            $item.InvocationInfo | Format-List * | Out-String -Width 500
            $item.ScriptStackTrace
            "$($item.TargetObject)"
            $item.CategoryInfo | Out-String -Width 500
        }
        elseif ($item -is [System.Management.Automation.InformationRecord]) {
            "$($item.MessageData)"
        }
        elseif ($item -is [System.Management.Automation.InformationalRecord]) {
            $item.Message   # verbose, warning, debug
        }
        elseif ($item.GetType().Namespace -ne 'Microsoft.PowerShell.Commands.Internal.Format') {
            $item | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue
            $item | Format-List * -Force | Out-String -Width 500
        }
    }
}

function Find-Canary {
    <# The canaries (-Canary) found in -Text. #>
    param([string[]]$Text, [Parameter(Mandatory)][string[]]$Canary)
    $all = $Text -join "`n"
    foreach ($c in $Canary) { if ($all.Contains($c, [StringComparison]::Ordinal)) { $c } }
}

function Find-CanaryBytes {
    <# The encodings (UTF-8, UTF-16 either order) in which a canary of -Canary occurs in -Bytes. #>
    param([byte[]]$Bytes, [Parameter(Mandatory)][string[]]$Canary)
    $text = [Text.Encoding]::Latin1.GetString($Bytes)   # Latin-1 maps bytes to chars one to one
    foreach ($c in $Canary) {
        foreach ($encoding in [Text.Encoding]::UTF8, [Text.Encoding]::Unicode, [Text.Encoding]::BigEndianUnicode) {
            if ($text.Contains([Text.Encoding]::Latin1.GetString($encoding.GetBytes($c)), [StringComparison]::Ordinal)) { $encoding.WebName }
        }
    }
}

function Find-CanaryInFiles {
    <# "<file> (<encoding>)" for each of -File holding a canary of -Canary (read shared: a database may still be open). #>
    param([IO.FileInfo[]]$File, [Parameter(Mandatory)][string[]]$Canary)
    foreach ($f in $File) {
        $stream = [IO.FileStream]::new($f.FullName, 'Open', 'Read', 'ReadWrite, Delete')
        try {
            $copy = [IO.MemoryStream]::new()
            $stream.CopyTo($copy)
            foreach ($encoding in Find-CanaryBytes $copy.ToArray() -Canary $Canary) { "$($f.FullName) ($encoding)" }
        }
        finally { $stream.Dispose() }
    }
}
