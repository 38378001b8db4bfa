// The flow of the secret tests (engine, server, Pester canaries): its "use" task reads the secret named by the
// "secret" parameter and writes the value every way a task can (console, stderr, one line in two writes, Log.Info,
// Log.Warning, Log.Error) and its SHA-256 (so a test sees that the task got it); its "reject" task throws it in an
// exception and is tried twice. Wherever the value would show, *** must.
using Flowstore;
using System.Security.Cryptography;
using System.Text;

var flow = new Flow("secretive");
var secret = flow.Parameter<string>("secret");
var used = flow.Task("use", (string name) =>
{
    var value = Secret.Get(name);
    Console.WriteLine("console: " + value);
    Console.Error.WriteLine("stderr: " + value);
    Console.Write("in two writes: " + value.Substring(0, 7));
    Console.WriteLine(value.Substring(7));
    Log.Info("info: " + value);
    Log.Warning("warning: " + value);
    Log.Error("error: " + value);
    Console.WriteLine("sha256: " + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value))));
    return name;
}, secret);
flow.Task("reject", (string name) =>
{
    throw new InvalidOperationException("the token " + Secret.Get(name) + " was rejected");
    return 0;
}, used, new TaskOptions { Retries = 1 });
