namespace Flowstore;

/// <summary>The rule every backend applies in <see cref="IFlowBackend.FindUnchangedRegistrationsAsync"/>.</summary>
public static class UnchangedRegistrations
{
    /// <summary>
    /// Given the latest version of every flow once registered from <paramref name="input"/> (with the input and flow
    /// count recorded on that version): unchanged when there is at least one, each is unarchived and still carries the
    /// input, and they are as many as the registration recorded; else null.
    /// </summary>
    public static UnchangedRegistration? Check(string input, IReadOnlyList<(FlowRecord Flow, string? Input, int? Flows)> latest)
    {
        ArgumentNullException.ThrowIfNull(latest);
        if (latest.Count == 0
            || latest.Any(l => l.Flow.Archived || !string.Equals(l.Input, input, StringComparison.Ordinal) || l.Flows != latest.Count))
        {
            return null;
        }
        return new UnchangedRegistration(input, latest.Select(l => l.Flow).ToArray());
    }
}
