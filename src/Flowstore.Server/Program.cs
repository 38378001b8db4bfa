using Flowstore.Server;

// The Flowstore server executable: settings from appsettings.json, FLOWSTORE_* / Flowstore__* environment variables
// and --Flowstore:<Setting>=<value> arguments (FlowServerSettings).
return await FlowServer.RunAsync(args);
