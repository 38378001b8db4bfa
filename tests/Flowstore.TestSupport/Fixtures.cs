namespace Flowstore.TestSupport;

/// <summary>
/// The files of tests/Fixtures, shared by the xunit projects and the Pester files (which read them from the folder):
/// flow scripts several suites run.
/// </summary>
public static class Fixtures
{
    /// <summary>
    /// tests/Fixtures/secretive.cs: a flow whose "use" task writes the secret named by its "secret" parameter every
    /// way a task can, with its SHA-256, and whose "reject" task throws it (tried twice).
    /// </summary>
    public static string SecretiveFlow => Read("secretive.cs");

    /// <summary>The text of tests/Fixtures/<paramref name="name"/> (embedded in this assembly).</summary>
    public static string Read(string name)
    {
        using var stream = typeof(Fixtures).Assembly.GetManifestResourceStream("Fixtures/" + name)
            ?? throw new FileNotFoundException($"tests/Fixtures/{name} is not embedded in Flowstore.TestSupport.", name);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
