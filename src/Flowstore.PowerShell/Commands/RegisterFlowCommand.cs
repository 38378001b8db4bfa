namespace Flowstore.Commands;

/// <summary>
/// Register-Flow: records the structure of the flows in one or more scripts in the backend, like
/// `prefect register`. Unchanged flows are skipped (metadata unchanged); changed ones get a new version.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "Flow", SupportsShouldProcess = true)]
[OutputType(typeof(FlowRegistration))]
public sealed class RegisterFlowCommand : FlowCmdlet
{
    private readonly HashSet<string> _checkedProjects = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Script files, folders (every *.cs below) or wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Project { get; set; } = "";

    /// <summary>Only these flows of the scripts.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Labels of the flows: only agents that have every one of them claim their runs.</summary>
    [Parameter]
    public string[]? Label { get; set; }

    /// <summary>Through a server, do not give flows with Local storage this machine's host name as a label (the file is on a shared drive).</summary>
    [Parameter]
    public SwitchParameter NoHostLabel { get; set; }

    /// <summary>Storage for the flows, overriding the one the script sets (e.g. from New-FlowStorage).</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public StorageSettings? Storage { get; set; }

    /// <summary>Create the project when it does not exist.</summary>
    [Parameter]
    public SwitchParameter CreateProject { get; set; }

    /// <summary>Register a new version even when nothing changed.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        EnsureProject();
        var options = new RegisterOptions
        {
            Project = Project,
            Names = Name,
            Labels = Label ?? Array.Empty<string>(),
            Storage = Storage,
            Force = Force.IsPresent,
            NoHostLabel = NoHostLabel.IsPresent,
            OnWarning = PostWarning,
            Progress = new StorageProgressReporter(this),
        };
        var files = PathResolver.ResolveScriptSources(this, Path).ToArray();
        RegistrationLookup lookup;
        try
        {
            // One request for all files: those registered unchanged need no compiling (a fresh CI agent's case).
            lookup = Await(ct => Client.LookUpUnchangedAsync(files, options, PostVerbose, ct));
        }
        catch (FlowstoreException e)
        {
            foreach (var source in files)
            {
                Fail(source.Path, null, e);
            }
            return;
        }
        foreach (var source in files)
        {
            var file = source.Path;
            IReadOnlyList<RegistrationPlan> plans;
            try
            {
                plans = Await(ct => Client.PlanAsync(source, options, lookup, PostVerbose, ct));
            }
            catch (FlowstoreException e)
            {
                Fail(file, null, e);
                continue;
            }
            foreach (var plan in plans)
            {
                if (!ShouldProcess($"flow '{plan.Name}' from '{plan.Path}' in project '{plan.Project}'", plan.Action))
                {
                    continue;
                }
                try
                {
                    var result = Await(ct => Client.ApplyAsync(plan, options, PostVerbose, ct));
                    WriteVerbose($"{result.Status} flow '{result.Name}' version {result.Version} ({result.Reason}).");
                    WriteObject(result);
                }
                catch (FlowstoreException e)
                {
                    Fail(file, plan.Name, e);
                }
            }
        }
    }

    private void EnsureProject()
    {
        if (_checkedProjects.Contains(Project))
        {
            return;
        }
        var create = CreateProject.IsPresent;
        if (create && !ShouldProcess($"Performing the operation \"Create project if missing\" on target \"project '{Project}'\".",
                $"Are you sure you want to perform this action?{Environment.NewLine}Performing the operation \"Create project if missing\" on target \"project '{Project}'\".",
                "Confirm", out var reason))
        {
            if (reason == ShouldProcessReason.WhatIf)
            {
                // -WhatIf -CreateProject: the project would be created, so go on and describe the registrations.
                _checkedProjects.Add(Project);
                return;
            }
            create = false;
        }
        try
        {
            Await(ct => Client.EnsureProjectAsync(Project, create, ct));
        }
        catch (FlowstoreException e)
        {
            Terminate(e, Project);
        }
        _checkedProjects.Add(Project);
    }

    private void Fail(string file, string? flow, FlowstoreException error)
    {
        WriteError(ToErrorRecord(error, file));
        WriteObject(FlowClient.Failure(file, Project, flow, error));
    }
}
