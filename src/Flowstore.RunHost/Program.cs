// Flowstore's run worker process: see Flowstore.Engine's RunWorker (this side) and RunWorkerProcess (the agent's side).
// Without a deps.json of its own, every assembly in this folder (the engine's) is on the app's path.
var engine = System.Reflection.Assembly.Load(new System.Reflection.AssemblyName("Flowstore.Engine"));
var run = engine.GetType("Flowstore.Engine.RunWorker", throwOnError: true)!.GetMethod("Run")!;
return (int)run.Invoke(null, [args])!;
