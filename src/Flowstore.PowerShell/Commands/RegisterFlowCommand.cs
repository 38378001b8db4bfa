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

    /// <summary>
    /// The schedule of the flows, instead of the one the script sets: a cron expression ('*/15 * * * *', five fields, or six
    /// with seconds first) or an interval (a TimeSpan: New-TimeSpan -Minutes 15, or '00:15:00').
    /// </summary>
    [Parameter]
    public object? Schedule { get; set; }

    /// <summary>The time zone the -Schedule cron expression is read in (an IANA id such as 'Europe/Zurich'); UTC by default.</summary>
    [Parameter]
    public string? ScheduleTimeZone { get; set; }

    /// <summary>The parameter values of the runs -Schedule creates (name = value).</summary>
    [Parameter]
    public Hashtable? ScheduleParameters { get; set; }

    /// <summary>Register with the flows' schedules paused (Set-FlowSchedule -Active starts them).</summary>
    [Parameter]
    public SwitchParameter NoSchedule { get; set; }

    protected override void ProcessRecord()
    {
        var schedule = ReadSchedule();
        EnsureProject();
        var options = new RegisterOptions
        {
            Project = Project,
            Names = Name,
            Labels = Label ?? Array.Empty<string>(),
            Storage = Storage,
            Force = Force.IsPresent,
            NoHostLabel = NoHostLabel.IsPresent,
            Schedule = schedule,
            NoSchedule = NoSchedule.IsPresent,
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

    /// <summary>The schedule -Schedule, -ScheduleTimeZone and -ScheduleParameters give; null without -Schedule.</summary>
    private global::Flowstore.Schedule? ReadSchedule()
    {
        var given = Schedule is PSObject ps ? ps.BaseObject : Schedule;
        if (given is null)
        {
            if (ScheduleTimeZone is not null || ScheduleParameters is not null)
            {
                Terminate(new FlowstoreException(ErrorIds.InvalidSchedule, FlowErrorKind.InvalidArgument,
                    "-ScheduleTimeZone and -ScheduleParameters describe the schedule given with -Schedule; give -Schedule too."));
            }
            return null;
        }
        var parameters = ScheduleParameters is null ? null : ToDictionary(ScheduleParameters);
        try
        {
            var interval = given switch
            {
                TimeSpan t => t,
                string text when text.Contains(':', StringComparison.Ordinal) && !text.Contains(' ', StringComparison.Ordinal)
                                 && TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
                _ => (TimeSpan?)null,
            };
            if (interval is { } every)
            {
                if (ScheduleTimeZone is not null)
                {
                    throw new FlowstoreException(ErrorIds.InvalidSchedule, FlowErrorKind.InvalidArgument,
                        $"The schedule is not valid: an interval ({every}) runs at the same pace in every time zone; -ScheduleTimeZone applies to cron expressions.");
                }
                return global::Flowstore.Schedule.Every(every, parameters: parameters);
            }
            return given switch
            {
                string cron => global::Flowstore.Schedule.Cron(cron, ScheduleTimeZone, parameters),
                global::Flowstore.Schedule schedule => (ScheduleTimeZone is null ? schedule : schedule.InTimeZone(ScheduleTimeZone))
                    is var s && parameters is not null ? s.WithParameters(parameters) : s,
                _ => throw new FlowstoreException(ErrorIds.InvalidSchedule, FlowErrorKind.InvalidArgument,
                    $"The schedule is not valid: -Schedule takes a cron expression (a string) or an interval (a TimeSpan), not a {given.GetType().Name}."),
            };
        }
        catch (FlowstoreException e)
        {
            Terminate(e, given);
            return null;
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
