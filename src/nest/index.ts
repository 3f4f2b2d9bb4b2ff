// typeorm-sealed/nest: the NestJS integration. Only this entry loads @nestjs/* (optional peers).
export { SealedTypeOrmModule } from './sealed-typeorm-module';
export { InjectSealedRepository, getSealedRepositoryToken, type EntityClass, type DataSourceReference } from './sealed-repository-token';
