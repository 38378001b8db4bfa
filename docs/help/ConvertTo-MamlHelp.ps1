<#
.SYNOPSIS
Builds MAML help (<cmdlet dll>-Help.xml) for a binary module from platyPS-style markdown pages.

.DESCRIPTION
platyPS is not available here (no PowerShell Gallery), so this script does its job for Flowstore:
it imports the module, reads the real cmdlet metadata (parameter sets, types, mandatory, position,
pipeline input, aliases, ValidateSet values, wildcards) and merges it with the prose of
docs/help/<Verb-Noun>.md (synopsis, description, examples, parameter descriptions, inputs,
outputs, notes, related links). The result is MAML as platyPS emits it, so Get-Help -Full,
-Examples and -Parameter work.

Metadata always wins for the syntax and the parameter attributes; from the markdown only prose,
"Default value" and "Accept wildcard characters" are taken. Problems in the pages (missing page,
missing synopsis/example/parameter description, documented parameter that does not exist, ...)
are warnings: tests/Pester/Help.Tests.ps1 turns the important ones into failing tests.

Run it in a fresh process: it imports the binary module, which can never be reloaded.

.NOTES
What the pages must look like (platyPS layout; anything else is a warning, not an error):
- One page per exported cmdlet: docs/help/<Verb-Noun>.md, with '# <Verb-Noun>' as its title.
  YAML front matter is optional; only 'online version:' is used (first related link, Get-Help -Online).
- Sections '## SYNOPSIS', '## DESCRIPTION', '## EXAMPLES' and '## PARAMETERS' are expected. The
  syntax comes from the cmdlet, so '## SYNTAX' is not read. Optional: '## INPUTS' and '## OUTPUTS'
  (a '### TypeName' heading + text each; without them the pipeline parameter types and [OutputType]
  are used), '## NOTES', '## RELATED LINKS' ('[text](https://...)'; links to .md files keep only text).
- Examples: one '### Example N: title' each. Every fenced block in it is its code (joined by a blank
  line); every other paragraph, before or after the code, is its remarks. Put explanations after the code.
- Parameters: '### -Name' (matched case-insensitively to the real parameter), the description, then the
  ```yaml block. From the yaml only 'Default value' and 'Accept wildcard characters' are read; type,
  sets, aliases, required, position and pipeline input always come from the cmdlet metadata.
  '### CommonParameters' is skipped. Undocumented -WhatIf/-Confirm get the standard text, and a
  [Parameter(HelpMessage = ...)] stands in for a missing description.
- Text: paragraphs are separated by blank lines and soft-wrapped lines are joined; list items and table
  rows become paragraphs of their own; backslash escapes are removed and [text](url) becomes
  'text (url)'; `code` and *emphasis* stay as typed. Headings inside code fences are plain text; a fence
  closes with the same character (``` or ~~~) at least as long as the one that opened it.

.EXAMPLE
dotnet pwsh -NoProfile -File docs/help/ConvertTo-MamlHelp.ps1 -ModulePath ./Flowstore.psd1 -MarkdownPath docs/help -OutputFolder out/module/en-US
#>
[CmdletBinding()]
param(
    # Module manifest (or dll) to import.
    [Parameter(Mandatory)][string]$ModulePath,
    # Folder holding <Verb-Noun>.md pages.
    [Parameter(Mandatory)][string]$MarkdownPath,
    # Folder that receives <cmdlet dll>-Help.xml (usually <module>/en-US).
    [Parameter(Mandatory)][string]$OutputFolder
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$script:Warnings = [System.Collections.Generic.List[string]]::new()
function Add-HelpWarning([string]$Message) {
    $script:Warnings.Add($Message)
    Write-Warning $Message
}

#region Markdown reading

# Tokens: Heading (Level, Text), Text (Text), Blank, Fence (Lang, Text). Headings inside fences are text.
function Read-MarkdownToken {
    param([string[]]$Lines, [int]$Start, [string]$File)
    $tokens = [System.Collections.Generic.List[object]]::new()
    $i = $Start
    while ($i -lt $Lines.Count) {
        $line = $Lines[$i]
        $lineNo = $i + 1
        if ($line -match '^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)') {
            $fence = $Matches[1]
            $lang = $Matches[2].ToLowerInvariant()
            $close = '^\s{0,3}' + [regex]::Escape($fence.Substring(0, 1)) + '{' + $fence.Length + ',}\s*$'
            $body = [System.Collections.Generic.List[string]]::new()
            $i++
            $closed = $false
            while ($i -lt $Lines.Count) {
                if ($Lines[$i] -match $close) { $closed = $true; break }
                $body.Add($Lines[$i])
                $i++
            }
            if (-not $closed) { Add-HelpWarning "${File}:${lineNo}: code fence is never closed; it runs to the end of the file" }
            $tokens.Add([pscustomobject]@{ Kind = 'Fence'; Level = 0; Lang = $lang; Text = ($body -join "`n"); Line = $lineNo })
            $i++
            continue
        }
        if ($line -match '^(#{1,6})\s+(.*?)\s*#*\s*$') {
            $tokens.Add([pscustomobject]@{ Kind = 'Heading'; Level = $Matches[1].Length; Lang = ''; Text = $Matches[2]; Line = $lineNo })
        }
        elseif ($line.Trim() -eq '') {
            $tokens.Add([pscustomobject]@{ Kind = 'Blank'; Level = 0; Lang = ''; Text = ''; Line = $lineNo })
        }
        else {
            $tokens.Add([pscustomobject]@{ Kind = 'Text'; Level = 0; Lang = ''; Text = $line; Line = $lineNo })
        }
        $i++
    }
    return , $tokens
}

# Inline markdown → console text: unescape, links become "text (uri)" (or "text" for local .md links).
function ConvertFrom-InlineMarkdown([string]$Text) {
    $t = [regex]::Replace($Text, '\[([^\]]+)\]\(([^)\s]*)\)', {
            param($m)
            $uri = $m.Groups[2].Value
            if ($uri -eq '' -or $uri -notmatch '^[a-z]+://') { $m.Groups[1].Value } else { '{0} ({1})' -f $m.Groups[1].Value, $uri }
        })
    return [regex]::Replace($t, '\\([\\`*_{}\[\]()#+\-.!<>|])', '$1')
}

# Markdown block tokens → paragraphs (maml:para). Soft-wrapped lines are joined; list items and
# table rows start their own paragraph; fenced code is kept verbatim as one paragraph.
function ConvertTo-Paragraph {
    param([object[]]$Tokens)
    $paras = [System.Collections.Generic.List[string]]::new()
    $current = [System.Collections.Generic.List[string]]::new()
    $flush = {
        if ($current.Count -gt 0) {
            $paras.Add((ConvertFrom-InlineMarkdown ($current -join ' ')))
            $current.Clear()
        }
    }
    foreach ($t in $Tokens) {
        switch ($t.Kind) {
            'Blank' { & $flush }
            'Fence' { & $flush; $paras.Add($t.Text) }
            'Heading' { & $flush; $paras.Add((ConvertFrom-InlineMarkdown $t.Text)) }
            'Text' {
                $line = $t.Text.Trim()
                if ($line -match '^\|') { & $flush; $paras.Add($line); continue }
                if ($line -match '^([-*+]|\d+[.)])\s+') { & $flush }
                $current.Add($line)
            }
        }
    }
    & $flush
    return $paras.ToArray()
}

# Splits tokens at headings of the given level: returns @{ Title; Line; Tokens } (Title '' for the part before the first heading).
function Split-AtHeading {
    param([object[]]$Tokens, [int]$Level)
    $parts = [System.Collections.Generic.List[object]]::new()
    $cur = [pscustomobject]@{ Title = ''; Line = 0; Tokens = [System.Collections.Generic.List[object]]::new() }
    foreach ($t in $Tokens) {
        if ($t.Kind -eq 'Heading' -and $t.Level -eq $Level) {
            $parts.Add($cur)
            $cur = [pscustomobject]@{ Title = $t.Text.Trim(); Line = $t.Line; Tokens = [System.Collections.Generic.List[object]]::new() }
        }
        else { $cur.Tokens.Add($t) }
    }
    $parts.Add($cur)
    return $parts.ToArray()
}

function Test-HasContent([object[]]$Tokens) {
    return [bool]($Tokens | Where-Object { $_.Kind -ne 'Blank' } | Select-Object -First 1)
}

function Read-HelpMarkdown {
    param([string]$Path)
    $file = Resolve-Path -LiteralPath $Path -Relative
    $lines = ([System.IO.File]::ReadAllText($Path) -replace "`r`n?", "`n").Split("`n")
    $front = @{}
    $start = 0
    if ($lines.Count -gt 0 -and $lines[0].Trim() -eq '---') {
        $start = 1
        while ($start -lt $lines.Count -and $lines[$start].Trim() -ne '---') {
            if ($lines[$start] -match '^\s*([^:#]+?)\s*:\s*(.*?)\s*$') { $front[$Matches[1]] = $Matches[2] }
            $start++
        }
        $start++
    }
    $tokens = Read-MarkdownToken -Lines $lines -Start $start -File $file

    $doc = [ordered]@{
        File = $file; Name = $null; OnlineVersion = ''
        Synopsis = @(); Description = @(); Examples = @(); Parameters = [ordered]@{}
        Inputs = @(); Outputs = @(); Notes = @(); Links = @()
    }
    if ($front.ContainsKey('online version')) { $doc.OnlineVersion = $front['online version'] }
    $h1 = $tokens | Where-Object { $_.Kind -eq 'Heading' -and $_.Level -eq 1 } | Select-Object -First 1
    if ($h1) { $doc.Name = $h1.Text.Trim() }

    $seen = @{}
    foreach ($section in (Split-AtHeading -Tokens $tokens -Level 2)) {
        if ($section.Title -eq '') { continue }
        $key = $section.Title.ToUpperInvariant()
        $seen[$key] = $true
        $body = @($section.Tokens | Where-Object { -not ($_.Kind -eq 'Heading' -and $_.Level -eq 1) })
        switch ($key) {
            'SYNOPSIS' { $doc.Synopsis = @(ConvertTo-Paragraph $body) }
            'SYNTAX' { } # generated from the cmdlet metadata
            'DESCRIPTION' { $doc.Description = @(ConvertTo-Paragraph $body) }
            'EXAMPLES' {
                $parts = @(Split-AtHeading -Tokens $body -Level 3)
                if ($parts.Count -eq 1 -and (Test-HasContent $parts[0].Tokens)) {
                    $parts[0].Title = 'Example 1' # examples without "### Example N: title" headings
                }
                $list = foreach ($p in $parts) {
                    if ($p.Title -eq '') { continue }
                    $code = @($p.Tokens | Where-Object Kind -EQ 'Fence' | ForEach-Object Text) -join "`n`n"
                    if ($code.Trim() -eq '') { Add-HelpWarning "${file}:$($p.Line): example '$($p.Title)' has no code fence" }
                    [pscustomobject]@{
                        Title   = $p.Title
                        Code    = $code
                        Remarks = @(ConvertTo-Paragraph @($p.Tokens | Where-Object Kind -NE 'Fence'))
                    }
                }
                $doc.Examples = @($list)
            }
            'PARAMETERS' {
                foreach ($p in (Split-AtHeading -Tokens $body -Level 3)) {
                    if ($p.Title -eq '' -or $p.Title -eq 'CommonParameters') { continue }
                    $name = $p.Title.TrimStart('-').Trim()
                    $yaml = @{}
                    $yamlFence = $p.Tokens | Where-Object { $_.Kind -eq 'Fence' -and $_.Lang -eq 'yaml' } | Select-Object -First 1
                    if ($yamlFence) {
                        foreach ($l in $yamlFence.Text.Split("`n")) {
                            if ($l -match '^\s*([^:]+?)\s*:\s*(.*?)\s*$') { $yaml[$Matches[1]] = $Matches[2] }
                        }
                    }
                    $descTokens = @($p.Tokens | Where-Object { -not ($_.Kind -eq 'Fence' -and $_.Lang -eq 'yaml') })
                    $doc.Parameters[$name] = [pscustomobject]@{ Name = $name; Line = $p.Line; Description = @(ConvertTo-Paragraph $descTokens); Yaml = $yaml }
                }
            }
            { $_ -in 'INPUTS', 'OUTPUTS' } {
                $items = foreach ($p in (Split-AtHeading -Tokens $body -Level 3)) {
                    if ($p.Title -eq '') {
                        # plain text without "### Type" headings: first paragraph is the type
                        $paras = @(ConvertTo-Paragraph $p.Tokens)
                        if ($paras.Count -gt 0) { [pscustomobject]@{ TypeName = $paras[0]; Description = @($paras | Select-Object -Skip 1) } }
                        continue
                    }
                    [pscustomobject]@{ TypeName = (ConvertFrom-InlineMarkdown $p.Title); Description = @(ConvertTo-Paragraph $p.Tokens) }
                }
                if ($key -eq 'INPUTS') { $doc.Inputs = @($items) } else { $doc.Outputs = @($items) }
            }
            'NOTES' { $doc.Notes = @(ConvertTo-Paragraph $body) }
            'RELATED LINKS' {
                $links = foreach ($t in $body) {
                    if ($t.Kind -ne 'Text') { continue }
                    $found = [regex]::Matches($t.Text, '\[([^\]]+)\]\(([^)\s]*)\)')
                    if ($found.Count -gt 0) {
                        foreach ($m in $found) {
                            $uri = $m.Groups[2].Value
                            if ($uri -notmatch '^[a-z]+://') { $uri = '' } # local .md links mean nothing outside the repo
                            [pscustomobject]@{ Text = $m.Groups[1].Value; Uri = $uri }
                        }
                    }
                    elseif ($t.Text.Trim() -match '^<?([a-z]+://\S+?)>?$') { [pscustomobject]@{ Text = $Matches[1]; Uri = $Matches[1] } }
                    else { [pscustomobject]@{ Text = (ConvertFrom-InlineMarkdown $t.Text.Trim()); Uri = '' } }
                }
                $doc.Links = @($links)
            }
            default { Add-HelpWarning "${file}:$($section.Line): unknown section '## $($section.Title)' is ignored" }
        }
    }
    foreach ($required in 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS') {
        if (-not $seen.ContainsKey($required)) { Add-HelpWarning "${file}: no '## $required' section" }
    }
    return [pscustomobject]$doc
}

#endregion

#region Cmdlet metadata

$CommonParameters = [System.Management.Automation.Cmdlet]::CommonParameters
$StandardDescriptions = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

function Get-TypeDisplayName([type]$Type) {
    if ($Type.IsArray) { return (Get-TypeDisplayName $Type.GetElementType()) + '[]' }
    $under = [Nullable]::GetUnderlyingType($Type)
    if ($under) { return Get-TypeDisplayName $under }
    if ($Type.IsGenericType) {
        $typeArgs = @($Type.GetGenericArguments() | ForEach-Object { Get-TypeDisplayName $_ }) -join ', '
        return ($Type.Name -replace '`\d+$', '') + "[$typeArgs]"
    }
    return $Type.Name
}

function Format-PipelineInput([bool]$ByValue, [bool]$ByPropertyName) {
    $by = @()
    if ($ByPropertyName) { $by += 'ByPropertyName' }
    if ($ByValue) { $by += 'ByValue' }
    if ($by.Count -eq 0) { return 'False' }
    return 'True ({0})' -f ($by -join ', ')
}

function Format-Position([int]$Position) {
    if ($Position -lt 0) { return 'named' }
    return [string]$Position
}

# One parameter as MAML wants it; $SetInfo is a CommandParameterInfo (syntax) or $null (parameters section).
function New-ParameterModel {
    param($Command, [System.Management.Automation.ParameterMetadata]$Meta, $SetInfo, $Doc)
    $mdParam = $null
    if ($Doc -and $Doc.Parameters.Contains($Meta.Name)) { $mdParam = $Doc.Parameters[$Meta.Name] }
    $isSwitch = $Meta.SwitchParameter
    $description = @()
    if ($mdParam) { $description = @($mdParam.Description | Where-Object { $_.Trim() -ne '' }) }
    if ($description.Count -eq 0) {
        $helpMessages = @($Meta.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.HelpMessage } | ForEach-Object HelpMessage)
        if ($helpMessages.Count -gt 0) { $description = @($helpMessages[0]) }
        elseif ($StandardDescriptions.ContainsKey($Meta.Name)) { $description = @($StandardDescriptions[$Meta.Name]) }
    }
    $globbing = [bool]($Meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    if (-not $globbing -and $mdParam -and $mdParam.Yaml['Accept wildcard characters'] -match '^\s*true') { $globbing = $true }
    $validValues = @($Meta.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | ForEach-Object ValidValues)
    $default = if ($isSwitch) { 'False' } else { 'None' }
    if ($mdParam -and $mdParam.Yaml.ContainsKey('Default value') -and $mdParam.Yaml['Default value'] -ne '') { $default = $mdParam.Yaml['Default value'] }

    if ($SetInfo) {
        $required = $SetInfo.IsMandatory
        $position = Format-Position $SetInfo.Position
        $pipeline = Format-PipelineInput $SetInfo.ValueFromPipeline $SetInfo.ValueFromPipelineByPropertyName
    }
    else {
        $sets = @($Meta.ParameterSets.Values)
        $required = $sets.Count -gt 0 -and -not ($sets | Where-Object { -not $_.IsMandatory })
        $positions = @($sets | ForEach-Object Position | Sort-Object -Unique)
        $position = if ($positions.Count -eq 1) { Format-Position $positions[0] } else { 'named' }
        $pipeline = Format-PipelineInput ([bool]($sets | Where-Object ValueFromPipeline)) ([bool]($sets | Where-Object ValueFromPipelineByPropertyName))
    }
    [pscustomobject]@{
        Name        = $Meta.Name
        Type        = if ($isSwitch) { 'SwitchParameter' } else { Get-TypeDisplayName $Meta.ParameterType }
        IsSwitch    = $isSwitch
        Required    = [bool]$required
        Position    = $position
        Pipeline    = $pipeline
        Globbing    = $globbing
        Aliases     = if ($Meta.Aliases.Count -gt 0) { $Meta.Aliases -join ', ' } else { 'none' }
        Description = $description
        ValidValues = $validValues
        Default     = $default
    }
}

# The values of a selector parameter: an enum's names, else its argument completer's offers.
function Get-SelectorValue([string]$CommandName, [System.Management.Automation.ParameterMetadata]$Parameter) {
    if ($Parameter.ParameterType.IsEnum) { return [Enum]::GetNames($Parameter.ParameterType) }
    $completer = @($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] -and $_.Type }) | Select-Object -First 1
    if (-not $completer) { return @() }
    $instance = [System.Activator]::CreateInstance($completer.Type)
    @($instance.CompleteArgument($CommandName, $Parameter.Name, '', $null, @{}) | ForEach-Object CompletionText)
}

function Get-CommandModel {
    param([System.Management.Automation.CmdletInfo]$Command, $Doc)
    $name = $Command.Name

    # A cmdlet whose dynamic parameters depend on the parameter at position 0 (New-FlowStorage -Type): one variant
    # of the metadata per value (an enum's names, else what its argument completer offers), so every type's
    # parameters are documented and each gets a syntax.
    $variants = @($Command)
    $selector = @($Command.Parameters.Values | Where-Object { $_.ParameterSets.Values | Where-Object Position -EQ 0 }) | Select-Object -First 1
    if ($selector -and $Command.ImplementingType -and
        [System.Management.Automation.IDynamicParameters].IsAssignableFrom($Command.ImplementingType)) {
        $values = @(Get-SelectorValue $name $selector)
        if ($values.Count -gt 0) { $variants = @($values | ForEach-Object { Get-Command -Name $name -ArgumentList $_ }) }
    }
    $allParams = [ordered]@{}
    foreach ($variant in $variants) {
        foreach ($meta in $variant.Parameters.Values) {
            if (-not $allParams.Contains($meta.Name)) { $allParams[$meta.Name] = $meta }
        }
    }
    $ownParams = @($allParams.Values | Where-Object { -not $CommonParameters.Contains($_.Name) })

    # Syntax: one item per parameter set, default set first; positional parameters by position, then the rest in declaration order.
    $syntax = [System.Collections.Generic.List[object]]::new()
    foreach ($variant in $variants) {
        foreach ($set in @($variant.ParameterSets | Sort-Object -Stable { -not $_.IsDefault })) {
            $keyed = [System.Collections.Generic.List[object]]::new()
            foreach ($p in $set.Parameters) {
                if ($CommonParameters.Contains($p.Name)) { continue }
                $key = if ($p.Position -ge 0) { $p.Position } else { 100000 + $keyed.Count }
                $keyed.Add([pscustomobject]@{ Key = $key; Info = $p })
            }
            $items = @($keyed | Sort-Object -Stable Key | ForEach-Object {
                    New-ParameterModel -Command $variant -Meta $variant.Parameters[$_.Info.Name] -SetInfo $_.Info -Doc $Doc })
            $syntax.Add($items)
        }
    }

    # Parameters section: the page's order first, then undocumented ones in declaration order.
    $order = [System.Collections.Generic.List[string]]::new()
    if ($Doc) {
        foreach ($n in $Doc.Parameters.Keys) {
            $known = @($allParams.Keys | Where-Object { $_ -eq $n })
            if ($known.Count -gt 0 -and -not $CommonParameters.Contains($n)) { $order.Add($known[0]) }
            elseif (-not $CommonParameters.Contains($n)) { Add-HelpWarning "$($Doc.File):$($Doc.Parameters[$n].Line): documents -$n, which $name does not have" }
        }
    }
    foreach ($p in $ownParams) { if (-not $order.Contains($p.Name)) { $order.Add($p.Name) } }
    $parameters = @($order | ForEach-Object { New-ParameterModel -Command $Command -Meta $allParams[$_] -SetInfo $null -Doc $Doc })

    if ($Doc) {
        foreach ($p in $parameters) {
            if ($p.Description.Count -eq 0) { Add-HelpWarning "$($Doc.File): parameter -$($p.Name) of $name has no description" }
        }
        if (@($Doc.Synopsis | Where-Object { $_.Trim() -ne '' }).Count -eq 0) { Add-HelpWarning "$($Doc.File): $name has no synopsis" }
        if ($Doc.Examples.Count -eq 0) { Add-HelpWarning "$($Doc.File): $name has no example" }
    }

    # Inputs/outputs: the page's, else what the metadata says.
    $inputs = @($Doc.Inputs)
    if ($inputs.Count -eq 0) {
        $inputs = @($ownParams | Where-Object { $_.ParameterSets.Values | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName } } |
                ForEach-Object { $_.ParameterType.FullName } | Sort-Object -Unique |
                ForEach-Object { [pscustomobject]@{ TypeName = $_; Description = @() } })
    }
    $outputs = @($Doc.Outputs)
    if ($outputs.Count -eq 0) {
        $outputs = @($Command.OutputType | ForEach-Object Name | Sort-Object -Unique | ForEach-Object { [pscustomobject]@{ TypeName = $_; Description = @() } })
    }
    $links = @($Doc.Links)
    if ($Doc.OnlineVersion) { $links = @([pscustomobject]@{ Text = 'Online Version:'; Uri = $Doc.OnlineVersion }) + $links }

    [pscustomobject]@{
        Name        = $name
        Verb        = $Command.Verb
        Noun        = $Command.Noun
        Synopsis    = @($Doc.Synopsis)
        Description = @($Doc.Description)
        Syntax      = $syntax.ToArray()
        Parameters  = $parameters
        Inputs      = $inputs
        Outputs     = $outputs
        Notes       = @($Doc.Notes)
        Examples    = @($Doc.Examples)
        Links       = $links
    }
}

#endregion

#region MAML writing

$ns = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
    MSHelp  = 'http://msdn.microsoft.com/mshelp'
}

function Write-Element([System.Xml.XmlWriter]$W, [string]$Qualified, [string]$Text) {
    $prefix, $local = $Qualified.Split(':')
    $W.WriteElementString($prefix, $local, $ns[$prefix], $Text)
}
function Start-Element([System.Xml.XmlWriter]$W, [string]$Qualified) {
    $prefix, $local = $Qualified.Split(':')
    $W.WriteStartElement($prefix, $local, $ns[$prefix])
}
function Write-Para([System.Xml.XmlWriter]$W, [string[]]$Paras) {
    $list = @($Paras | Where-Object { $null -ne $_ })
    if ($list.Count -eq 0) { Write-Element $W 'maml:para' ''; return }
    foreach ($p in $list) { Write-Element $W 'maml:para' $p }
}

function Write-Parameter([System.Xml.XmlWriter]$W, $P, [bool]$InSyntax) {
    Start-Element $W 'command:parameter'
    $W.WriteAttributeString('required', $P.Required.ToString().ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', $P.Globbing.ToString().ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $P.Pipeline)
    $W.WriteAttributeString('position', $P.Position)
    $W.WriteAttributeString('aliases', $P.Aliases)
    Write-Element $W 'maml:name' $P.Name
    Start-Element $W 'maml:description'; Write-Para $W $P.Description; $W.WriteEndElement()
    if ($InSyntax -and $P.ValidValues.Count -gt 0) {
        Start-Element $W 'command:parameterValueGroup'
        foreach ($v in $P.ValidValues) {
            Start-Element $W 'command:parameterValue'
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('variableLength', 'false')
            $W.WriteString($v)
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    if (-not ($InSyntax -and $P.IsSwitch)) {
        Start-Element $W 'command:parameterValue'
        $W.WriteAttributeString('required', (-not $P.IsSwitch).ToString().ToLowerInvariant())
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($P.Type)
        $W.WriteEndElement()
    }
    Start-Element $W 'dev:type'; Write-Element $W 'maml:name' $P.Type; Write-Element $W 'maml:uri' ''; $W.WriteEndElement()
    Write-Element $W 'dev:defaultValue' $P.Default
    $W.WriteEndElement()
}

function Write-TypeList([System.Xml.XmlWriter]$W, [string]$Outer, [string]$Inner, [object[]]$Items) {
    Start-Element $W $Outer
    foreach ($item in $Items) {
        Start-Element $W $Inner
        Start-Element $W 'dev:type'; Write-Element $W 'maml:name' $item.TypeName; $W.WriteEndElement()
        Start-Element $W 'maml:description'; Write-Para $W $item.Description; $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
}

function Write-Command([System.Xml.XmlWriter]$W, $M) {
    Start-Element $W 'command:command'
    foreach ($p in 'maml', 'command', 'dev', 'MSHelp') { $W.WriteAttributeString('xmlns', $p, $null, $ns[$p]) }

    Start-Element $W 'command:details'
    Write-Element $W 'command:name' $M.Name
    Write-Element $W 'command:verb' $M.Verb
    Write-Element $W 'command:noun' $M.Noun
    Start-Element $W 'maml:description'; Write-Para $W $M.Synopsis; $W.WriteEndElement()
    $W.WriteEndElement()

    Start-Element $W 'maml:description'; Write-Para $W $M.Description; $W.WriteEndElement()

    Start-Element $W 'command:syntax'
    foreach ($item in $M.Syntax) {
        Start-Element $W 'command:syntaxItem'
        Write-Element $W 'maml:name' $M.Name
        foreach ($p in $item) { Write-Parameter $W $p $true }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    Start-Element $W 'command:parameters'
    foreach ($p in $M.Parameters) { Write-Parameter $W $p $false }
    $W.WriteEndElement()

    Write-TypeList $W 'command:inputTypes' 'command:inputType' $M.Inputs
    Write-TypeList $W 'command:returnValues' 'command:returnValue' $M.Outputs

    Start-Element $W 'maml:alertSet'; Start-Element $W 'maml:alert'; Write-Para $W $M.Notes; $W.WriteEndElement(); $W.WriteEndElement()

    Start-Element $W 'command:examples'
    foreach ($e in $M.Examples) {
        Start-Element $W 'command:example'
        $dashes = '-' * [Math]::Max(4, [int][Math]::Floor((64 - $e.Title.Length - 2) / 2))
        Write-Element $W 'maml:title' ('{0} {1} {0}' -f $dashes, $e.Title)
        Write-Element $W 'dev:code' $e.Code
        # the trailing empty paragraph keeps a blank line before the next example, as in platyPS output
        Start-Element $W 'dev:remarks'; Write-Para $W (@($e.Remarks) + ''); $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    Start-Element $W 'command:relatedLinks'
    foreach ($l in $M.Links) {
        Start-Element $W 'maml:navigationLink'
        Write-Element $W 'maml:linkText' $l.Text
        Write-Element $W 'maml:uri' $l.Uri
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()
}

#endregion

$module = Import-Module -Name (Resolve-Path -LiteralPath $ModulePath).Path -PassThru -ErrorAction Stop | Select-Object -First 1
$cmdlets = @(Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)
$others = @(Get-Command -Module $module.Name -CommandType Function, Filter | Sort-Object Name)
foreach ($o in $others) { Add-HelpWarning "$($o.Name) is a function: this converter documents cmdlets only (use comment-based help)" }

$pages = @{}
$markdownShown = $MarkdownPath
if (Test-Path -LiteralPath $MarkdownPath) {
    $markdownShown = Resolve-Path -LiteralPath $MarkdownPath -Relative
    foreach ($f in Get-ChildItem -LiteralPath $MarkdownPath -Filter '*.md' -File) {
        $doc = Read-HelpMarkdown -Path $f.FullName
        if (-not $doc.Name) { Add-HelpWarning "$($doc.File): no '# Verb-Noun' title; using the file name"; $doc.Name = $f.BaseName }
        elseif ($doc.Name -ne $f.BaseName) { Add-HelpWarning "$($doc.File): title '# $($doc.Name)' does not match the file name" }
        $pages[$f.BaseName] = $doc
    }
}
foreach ($page in $pages.Keys) {
    if (-not ($cmdlets | Where-Object Name -EQ $page)) { Add-HelpWarning "$($pages[$page].File): the module exports no cmdlet '$page'" }
}

New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
$documented = 0
foreach ($group in ($cmdlets | Group-Object HelpFile)) {
    $helpFile = Join-Path $OutputFolder $group.Name
    $models = foreach ($c in $group.Group) {
        if (-not $pages.ContainsKey($c.Name)) {
            Add-HelpWarning "$($c.Name) has no help page: write $(Join-Path $markdownShown "$($c.Name).md")"
            continue
        }
        # CmdletInfo.Parameters is null when the parameter types cannot be loaded (for example an
        # assembly resolver that is not in place yet): say why, and leave this cmdlet out.
        if ($null -eq $c.Parameters) {
            $why = try { $null = Get-Command -Name $c.Name -Syntax -ErrorAction Stop; 'unknown reason' } catch { $_.Exception.Message }
            Add-HelpWarning "$($c.Name): cannot read its parameters ($why); no help generated"
            continue
        }
        Get-CommandModel -Command $c -Doc $pages[$c.Name]
    }
    $models = @($models)
    if ($models.Count -eq 0) {
        Remove-Item -LiteralPath $helpFile -ErrorAction Ignore
        continue
    }
    $settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; IndentChars = '  '; Encoding = [System.Text.UTF8Encoding]::new($false); NewLineChars = "`n" }
    $writer = [System.Xml.XmlWriter]::Create($helpFile, $settings)
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('helpItems', $ns.msh)
        $writer.WriteAttributeString('schema', 'maml')
        foreach ($m in $models) { Write-Command $writer $m }
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    }
    finally { $writer.Dispose() }
    $null = [xml](Get-Content -LiteralPath $helpFile -Raw) # well-formed or throw
    $documented += $models.Count
    Write-Host ("Help: {0} of {1} cmdlets documented -> {2}" -f $models.Count, $group.Count, (Resolve-Path -LiteralPath $helpFile -Relative))
}
if ($cmdlets.Count -eq 0) { Add-HelpWarning "module $($module.Name) exports no cmdlets" }
Write-Host ("Help: {0} warning(s)" -f $script:Warnings.Count)
