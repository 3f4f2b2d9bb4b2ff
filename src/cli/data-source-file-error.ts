/** The data source file could not be loaded or exports no DataSource. Exit code 3. */
export class DataSourceFileError extends Error {}
