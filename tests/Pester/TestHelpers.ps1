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
