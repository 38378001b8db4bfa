using System.Globalization;

namespace Flowstore.Core.Tests;

/// <summary>
/// The test assembly is also a tiny console helper: <c>dotnet exec Flowstore.Core.Tests.dll structure CULTURE</c>
/// prints the canonical JSON of the sample flows, computed in a separate process under that culture.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "structure")
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture =
                args[1] == "invariant" ? CultureInfo.InvariantCulture : new CultureInfo(args[1]);
            Console.Out.WriteLine(FlowStructure.FromFlow(SampleFlows.Seed()).CanonicalJson);
            Console.Out.WriteLine(FlowStructure.FromFlow(SampleFlows.Rich()).CanonicalJson);
            return 0;
        }
        Console.Error.WriteLine("usage: structure <culture>");
        return 2;
    }
}
