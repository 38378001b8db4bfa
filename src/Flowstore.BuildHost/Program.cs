// Flowstore's build worker process: see Flowstore.Scripting.ScriptBuildGuard (parent) and ScriptBuildWorker (this side).
return Flowstore.Scripting.ScriptBuildWorker.Run(args);
