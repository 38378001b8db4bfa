// flows/my_flow.cs: the seed's example, in C#.
// get_data returns a list; print_data receives it as its input and prints it.
using Flowstore;

var flow = new Flow("example");

var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join(", ", values)), data);

// Where the script lives. With no storage set, Register-Flow keeps Local script storage pointing at this
// file, so every run reads its current text. To keep it on GitHub instead (see the README):
//
// flow.Storage = new GitHubStorage(
//     repo: "org/repo",                          // name of repo
//     path: "flows/my_flow.cs",                  // location of the flow file in the repo
//     accessTokenSecret: "GITHUB_ACCESS_TOKEN"); // name of the secret holding a token
